#pragma once
// Test-only modules for the loader tests, so they exercise the module contract (keys per level,
// inheritance, content handlers, validate, dump) without depending on the real modules.
#include <array>
#include <span>
#include <string>

#include "core/config_loader.hpp"
#include "http/module.hpp"

namespace serverd::test {

struct StringConf : ModuleConf {
  explicit StringConf(std::string v) : value(std::move(v)) {}
  std::string value;
};

// Content handler owning `proxy_pass` (location only). validate() checks that "http://NAME"
// names a known upstream, as the real proxy module will.
class FakeProxyModule : public Module {
 public:
  std::string_view name() const override { return "proxy"; }
  std::span<const ConfigKey> keys() const override { return kKeys; }
  ModuleConfPtr configure(ConfigLevel, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override {
    auto v = ctx.get_string(block, "proxy_pass");
    if (!v) return parent;
    return std::make_shared<StringConf>(*v);
  }
  void validate(const Config& config, ConfigContext& ctx) const override {
    const std::size_t self = 0;  // always first in the test module lists
    for (const ServerConfig& s : config.servers) {
      for (const LocationConfig& loc : s.locations) {
        if (loc.modules.size() <= self || !loc.modules[self]) continue;
        const auto& pass = static_cast<const StringConf&>(*loc.modules[self]).value;
        const std::string name = pass.substr(pass.find("://") + 3);
        bool found = false;
        for (const UpstreamConfig& up : config.upstreams) found = found || up.name == name;
        if (!found) ctx.errors().add(loc.pos, "unknown upstream \"" + name + "\" in proxy_pass");
      }
    }
  }
  void dump(const ModuleConf& conf, toml::table& out) const override {
    out.insert("proxy_pass", static_cast<const StringConf&>(conf).value);
  }
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf&) const override { return true; }

 private:
  static constexpr std::array<ConfigKey, 1> kKeys{
      {{"proxy_pass", static_cast<unsigned>(ConfigLevel::location), true}}};
};

// Content handler owning `root` at server and location level; resolves it against the config
// directory and inherits it downwards.
class FakeFilesModule : public Module {
 public:
  std::string_view name() const override { return "files"; }
  std::span<const ConfigKey> keys() const override { return kKeys; }
  ModuleConfPtr configure(ConfigLevel, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override {
    auto v = ctx.get_string(block, "root");
    if (!v) return parent;
    return std::make_shared<StringConf>(ctx.resolve_path(*v).string());
  }
  void dump(const ModuleConf& conf, toml::table& out) const override {
    out.insert("root", static_cast<const StringConf&>(conf).value);
  }
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf& conf) const override {
    return !static_cast<const StringConf&>(conf).value.empty();
  }

 private:
  static constexpr std::array<ConfigKey, 1> kKeys{
      {{"root", ConfigLevel::server | ConfigLevel::location, true}}};
};

// Content handler owning `return` (location only): an integer status or { status, location }.
struct RedirectConf : ModuleConf {
  std::int64_t status = 0;
  std::string location;
};
class FakeRedirectModule : public Module {
 public:
  std::string_view name() const override { return "redirect"; }
  std::span<const ConfigKey> keys() const override { return kKeys; }
  ModuleConfPtr configure(ConfigLevel, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override {
    const toml::node* node = block.get("return");
    if (node == nullptr) return parent;
    auto conf = std::make_shared<RedirectConf>();
    if (const auto* t = node->as_table()) {
      conf->status = ctx.get_integer(*t, "status", 100, 599).value_or(0);
      conf->location = ctx.get_string(*t, "location").value_or("");
    } else {
      conf->status = ctx.get_integer(block, "return", 100, 599).value_or(0);
    }
    return conf;
  }
  void dump(const ModuleConf& conf, toml::table& out) const override {
    const auto& c = static_cast<const RedirectConf&>(conf);
    toml::table t;
    t.insert("status", c.status);
    t.insert("location", c.location);
    out.insert("return", std::move(t));
  }
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf&) const override { return true; }

 private:
  static constexpr std::array<ConfigKey, 1> kKeys{
      {{"return", static_cast<unsigned>(ConfigLevel::location), true}}};
};

// Not a content handler: `server_tokens` at every level, default true from [main] down.
struct BoolConf : ModuleConf {
  explicit BoolConf(bool v) : value(v) {}
  bool value;
};
class FakeTokensModule : public Module {
 public:
  std::string_view name() const override { return "tokens"; }
  std::span<const ConfigKey> keys() const override { return kKeys; }
  ModuleConfPtr configure(ConfigLevel level, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override {
    auto v = ctx.get_bool(block, "server_tokens");
    if (v) return std::make_shared<BoolConf>(*v);
    if (level == ConfigLevel::main) return std::make_shared<BoolConf>(true);
    return parent;
  }
  void dump(const ModuleConf& conf, toml::table& out) const override {
    out.insert("server_tokens", static_cast<const BoolConf&>(conf).value);
  }

 private:
  static constexpr std::array<ConfigKey, 1> kKeys{
      {{"server_tokens", ConfigLevel::main | ConfigLevel::server | ConfigLevel::location}}};
};

// The list the loader tests use: proxy, files, redirect, tokens (indexes 0..3).
inline const ModuleList& test_modules() {
  static const FakeProxyModule proxy;
  static const FakeFilesModule files;
  static const FakeRedirectModule redirect;
  static const FakeTokensModule tokens;
  static const ModuleList list({&proxy, &files, &redirect, &tokens});
  return list;
}
inline constexpr int kProxy = 0, kFiles = 1, kRedirect = 2, kTokens = 3;

// Loads `text` as "test.toml" from /etc/serverd and returns every error, one per line.
inline std::string load_errors(std::string_view text) {
  return load_config_text(text, "test.toml", "/etc/serverd", test_modules()).errors.to_string();
}

}  // namespace serverd::test
