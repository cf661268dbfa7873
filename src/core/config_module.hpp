#pragma once
// The configuration side of a module, as core's loader sees it: a name, a directive table,
// how a block's settings start (a copy of the enclosing block's, or fresh), cross-key checks
// and whole-config validation. The request side (handlers, filters, logging, process hooks)
// is src/http/module.hpp, which builds on this.
#include <toml++/toml.h>

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/config_context.hpp"
#include "core/directive.hpp"

namespace serverd {

class ConfigModule {
 public:
  virtual ~ConfigModule() = default;
  virtual std::string_view name() const = 0;
  virtual DirectiveTable directives() const { return {}; }

  // The settings a block starts from when it writes some of this module's keys: a copy of
  // `parent` (the enclosing block's; null for [main] or when there were none) so that values
  // inherit downwards as in nginx, or fresh ones for settings that do not merge.
  virtual std::shared_ptr<ModuleConf> create(ConfigLevel level, const ModuleConf* parent) const = 0;
  // The [main] settings when [main] writes none of the module's keys (null: none).
  virtual ModuleConfPtr main_defaults() const { return nullptr; }
  // After the rows of a block are read: checks across keys and derived values. Returning
  // false drops the block's settings (the enclosing block's stay in effect).
  virtual bool finish(ConfigLevel /*level*/, ModuleConf& /*conf*/, const toml::table& /*block*/,
                      ConfigContext& /*ctx*/, bool /*had_errors*/) const {
    return true;
  }
  // Whole-config checks once every block is built (e.g. proxy_pass names a known upstream).
  virtual void validate(const Config& /*config*/, ConfigContext& /*ctx*/) const {}

  // A content module answers requests of locations where it is configured.
  virtual bool is_content_handler() const { return false; }
  // Whether these settings make the module the handler of a location (e.g. a root is set).
  virtual bool handles(const ModuleConf& /*conf*/) const { return false; }

  // Builds the settings of one block from the rows: `parent` unchanged when the block writes
  // none of the module's keys. Problems go to ctx; null means "not set".
  ModuleConfPtr configure(ConfigLevel level, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const;
  // The effective settings as rows write them (for `serverd -T`).
  void dump(const ModuleConf& conf, DumpOut& out) const;
  // The same as TOML values (for tests).
  void dump(const ModuleConf& conf, toml::table& out) const;
};

// The ordered module list as the loader sees it; a module's index in it is where its settings
// live in ModuleConfs.
class ConfigModuleList {
 public:
  explicit ConfigModuleList(std::vector<const ConfigModule*> modules)
      : config_modules_(std::move(modules)) {}
  std::size_t size() const { return config_modules_.size(); }
  const ConfigModule& operator[](std::size_t i) const { return *config_modules_[i]; }
  auto begin() const { return config_modules_.begin(); }
  auto end() const { return config_modules_.end(); }
  // -1 when no module has that name.
  int index_of(std::string_view name) const;

 private:
  std::vector<const ConfigModule*> config_modules_;
};

// A copy of `parent` as T, or a default T: the usual create() of merging settings.
template <class T>
std::shared_ptr<T> inherit_or_default(const ModuleConf* parent) {
  if (const auto* p = dynamic_cast<const T*>(parent)) return std::make_shared<T>(*p);
  return std::make_shared<T>();
}

}  // namespace serverd
