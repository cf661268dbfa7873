#pragma once
// The module API (nginx's directive tables, typed). A module owns its config keys at the levels
// it declares, builds its own settings from them with FILE:LINE:COL errors, and may be a
// location's content handler and/or filter response headers. Core knows nothing about static
// files or proxying: those are modules, listed explicitly in modules/modules.cpp.
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "core/config.hpp"
#include "core/config_context.hpp"

namespace serverd {

class Exchange;
struct ExchangeLog;
class Request;
struct Response;
class WorkerContext;

// Base of every module's settings; modules downcast their own.
struct ModuleConf {
  virtual ~ModuleConf() = default;
};

enum class ConfigLevel : unsigned { main = 1, server = 2, location = 4 };
inline constexpr unsigned operator|(ConfigLevel a, ConfigLevel b) {
  return static_cast<unsigned>(a) | static_cast<unsigned>(b);
}
inline constexpr unsigned operator|(unsigned a, ConfigLevel b) {
  return a | static_cast<unsigned>(b);
}

struct ConfigKey {
  std::string_view name;
  unsigned levels;  // ConfigLevel bits where the key may appear
  // Writing this key in a location makes the module that location's content handler (root,
  // alias, return, proxy_pass); other keys only tune a module (index, default_type).
  bool selects_handler = false;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  virtual std::span<const ConfigKey> keys() const { return {}; }

  // Builds the settings for one block ([main] table, a [[server]] or a [[server.location]]).
  // `parent` is the enclosing block's settings (null for main, or when the module had none
  // there): return it unchanged when the block sets none of this module's keys, so values
  // inherit downwards as in nginx. Report problems through ctx; return null for "not set".
  virtual ModuleConfPtr configure(ConfigLevel /*level*/, const toml::table& /*block*/,
                                  const ModuleConfPtr& parent, ConfigContext& /*ctx*/) const {
    return parent;
  }
  // Whole-config checks once every block is built (e.g. proxy_pass names a known upstream).
  virtual void validate(const Config& /*config*/, ConfigContext& /*ctx*/) const {}
  // Writes the effective settings back as TOML keys (for `serverd -T`).
  virtual void dump(const ModuleConf& /*conf*/, toml::table& /*out*/) const {}

  // A content module answers requests of locations where it is configured.
  virtual bool is_content_handler() const { return false; }
  // Whether these settings make the module the handler of a location (e.g. a root is set).
  virtual bool handles(const ModuleConf& /*conf*/) const { return false; }
  virtual void handle(Exchange& exchange, const ModuleConf& conf) const;
  // A handler that streams the request body (the proxy) is called as soon as the head is in;
  // others only once the whole body has been read (and checked against client_max_body_size),
  // so they never answer a request that is about to be rejected.
  virtual bool streams_request_body() const { return false; }

  // Called for every module that has settings at the location, in module order, before the
  // response head is written.
  virtual void filter_headers(Exchange& /*exchange*/, Response& /*response*/,
                              const ModuleConf& /*conf*/) const {}

  // After every exchange that got a response (or was cut off), for every module with settings
  // at the request's location (its server's, when no location matched), in module order.
  virtual void log_exchange(const Request& /*request*/, const ExchangeLog& /*log*/,
                            const ModuleConf& /*conf*/) const {}
  // Log files this module writes (the agent rotates them).
  virtual void log_files(const Config& /*config*/,
                         std::vector<std::filesystem::path>& /*out*/) const {}
  // USR1 / rotation: reopen this worker's log files at their configured paths.
  virtual void reopen_logs(WorkerContext& /*worker*/) const {}
  // A message for this module from another process (e.g. health state from the agent).
  virtual void on_broadcast(WorkerContext& /*worker*/, std::string_view /*topic*/,
                            std::string_view /*payload*/) const {}

  virtual void init_master(const Config& /*config*/) const {}
  virtual void init_worker(WorkerContext& /*worker*/) const {}
  virtual void exit_worker(WorkerContext& /*worker*/) const {}
};

// The ordered list of modules; a module's index in it is where its settings live in
// ModuleConfs.
class ModuleList {
 public:
  explicit ModuleList(std::vector<const Module*> modules) : modules_(std::move(modules)) {}
  std::size_t size() const { return modules_.size(); }
  const Module& operator[](std::size_t i) const { return *modules_[i]; }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }
  // -1 when no module has that name.
  int index_of(std::string_view name) const;

 private:
  std::vector<const Module*> modules_;
};

}  // namespace serverd
