#pragma once
// Test-only modules for the loader tests, so they exercise the module contract (keys per level,
// inheritance, content handlers, validate, dump) without depending on the real modules.
#include <array>
#include <span>
#include <string>

#include "core/config_loader.hpp"
#include "core/directive_rows.hpp"
#include "http/module.hpp"

namespace serverd::test {

struct StringConf : ModuleConf {
  StringConf() = default;
  explicit StringConf(std::string v) : value(std::move(v)) {}
  std::string value;
};

// Content handler owning `proxy_pass` (location only). validate() checks that "http://NAME"
// names a known upstream, as the real proxy module will.
class FakeProxyModule : public Module {
 public:
  std::string_view name() const override { return "proxy"; }
  DirectiveTable directives() const override { return kRows; }
  std::shared_ptr<ModuleConf> create(ConfigLevel, const ModuleConf*) const override {
    return std::make_shared<StringConf>();
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
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf&) const override { return true; }
  bool finish(ConfigLevel, ModuleConf&, const toml::table&, ConfigContext&,
              bool had_errors) const override {
    return !had_errors;
  }

 private:
  static constexpr Directive kRows[] = {
      rows::string<&StringConf::value>("proxy_pass", static_cast<unsigned>(ConfigLevel::location))
          .handler()};
};

// Content handler owning `root` at server and location level; resolves it against the config
// directory and inherits it downwards.
class FakeFilesModule : public Module {
 public:
  std::string_view name() const override { return "files"; }
  DirectiveTable directives() const override { return kRows; }
  std::shared_ptr<ModuleConf> create(ConfigLevel, const ModuleConf*) const override {
    return std::make_shared<StringConf>();
  }
  bool finish(ConfigLevel, ModuleConf&, const toml::table&, ConfigContext&,
              bool had_errors) const override {
    return !had_errors;
  }
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf& conf) const override {
    return !static_cast<const StringConf&>(conf).value.empty();
  }

 private:
  static void parse_root(const Directive& row, void* t, const toml::node& node,
                         ConfigContext& ctx) {
    if (auto v = ctx.read_string(node, row.name))
      rows::field<&StringConf::value>(t) = ctx.resolve_path(*v).string();
  }
  static constexpr Directive kRows[] = {
      rows::custom("root", ConfigLevel::server | ConfigLevel::location, parse_root,
                   rows::string<&StringConf::value>("", 0).dump)
          .handler()};
};

// Content handler owning `return` (location only): an integer status or { status, location }.
struct RedirectConf : ModuleConf {
  std::int64_t status = 0;
  std::string location;
};
class FakeRedirectModule : public Module {
 public:
  std::string_view name() const override { return "redirect"; }
  DirectiveTable directives() const override { return kRows; }
  std::shared_ptr<ModuleConf> create(ConfigLevel, const ModuleConf*) const override {
    return std::make_shared<RedirectConf>();
  }
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf&) const override { return true; }

 private:
  static void parse_return(const Directive& row, void* t, const toml::node& node,
                           ConfigContext& ctx) {
    auto& conf = static_cast<RedirectConf&>(*static_cast<ModuleConf*>(t));
    if (const auto* table = node.as_table()) {
      conf.status = ctx.get_integer(*table, "status", 100, 599).value_or(0);
      conf.location = ctx.get_string(*table, "location").value_or("");
    } else {
      conf.status = ctx.read_integer(node, row.name, 100, 599).value_or(0);
    }
  }
  static void dump_return(const Directive& row, const void* t, DumpOut& out) {
    const auto& c = static_cast<const RedirectConf&>(*static_cast<const ModuleConf*>(t));
    toml::table table;
    table.insert("status", c.status);
    table.insert("location", c.location);
    out.put(row.name, std::move(table));
  }
  static constexpr Directive kRows[] = {rows::custom("return",
                                                     static_cast<unsigned>(ConfigLevel::location),
                                                     parse_return, dump_return)
                                            .handler()};
};

// Not a content handler: `server_tokens` at every level, default true from [main] down.
struct BoolConf : ModuleConf {
  BoolConf() = default;
  explicit BoolConf(bool v) : value(v) {}
  bool value = true;
};
class FakeTokensModule : public Module {
 public:
  std::string_view name() const override { return "tokens"; }
  DirectiveTable directives() const override { return kRows; }
  std::shared_ptr<ModuleConf> create(ConfigLevel, const ModuleConf*) const override {
    return std::make_shared<BoolConf>();
  }
  ModuleConfPtr main_defaults() const override { return std::make_shared<BoolConf>(true); }
  bool finish(ConfigLevel, ModuleConf&, const toml::table&, ConfigContext&,
              bool had_errors) const override {
    return !had_errors;
  }

 private:
  static constexpr Directive kRows[] = {rows::flag<&BoolConf::value>(
      "server_tokens", ConfigLevel::main | ConfigLevel::server | ConfigLevel::location)};
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
