#include "core/config_keys.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/config_core_rows.hpp"
#include "core/suggest.hpp"

namespace serverd {
namespace {

constexpr std::array<ConfigLevel, 3> kLevels{ConfigLevel::main, ConfigLevel::server,
                                             ConfigLevel::location};

void add_unique(std::vector<std::string_view>& keys, std::string_view key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
}

}  // namespace

KeyCatalog::KeyCatalog(const ConfigModuleList& modules) {
  for (ConfigLevel level : kLevels) {
    auto& keys = level == ConfigLevel::main     ? main_
                 : level == ConfigLevel::server ? server_
                                                : location_;
    for (const Directive& row : core_directives(level)) add_unique(keys, row.name);
  }
  for (const ConfigModule* m : modules) {
    for (const Directive& k : m->directives()) {
      if (has_level(k.levels, ConfigLevel::main)) add_unique(main_, k.name);
      if (has_level(k.levels, ConfigLevel::server)) add_unique(server_, k.name);
      if (has_level(k.levels, ConfigLevel::location)) add_unique(location_, k.name);
    }
  }
}

const std::vector<std::string_view>& KeyCatalog::allowed(ConfigLevel level) const {
  switch (level) {
    case ConfigLevel::main:
      return main_;
    case ConfigLevel::server:
      return server_;
    case ConfigLevel::location:
      break;
  }
  return location_;
}

unsigned KeyCatalog::levels_of(std::string_view key) const {
  unsigned levels = 0;
  for (ConfigLevel level : kLevels) {
    const auto& keys = allowed(level);
    if (std::find(keys.begin(), keys.end(), key) != keys.end())
      levels |= static_cast<unsigned>(level);
  }
  return levels;
}

std::string_view block_name(ConfigLevel level) {
  switch (level) {
    case ConfigLevel::main:
      return "[main]";
    case ConfigLevel::server:
      return "[[server]]";
    case ConfigLevel::location:
      break;
  }
  return "[[server.location]]";
}

void check_keys(const toml::table& table, std::string_view where,
                std::span<const std::string_view> allowed, ConfigContext& ctx,
                const KeyCatalog* catalog) {
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::string message;
    const unsigned elsewhere = catalog != nullptr ? catalog->levels_of(name) : 0;
    if (elsewhere != 0) {
      // A real key in the wrong block: saying where it belongs beats a spelling hint.
      std::vector<std::string_view> places;
      for (ConfigLevel level : kLevels)
        if (has_level(elsewhere, level)) places.push_back(block_name(level));
      message = '"' + std::string(name) + "\" is not allowed " + std::string(where) + " (only in ";
      for (std::size_t i = 0; i < places.size(); ++i) {
        if (i > 0) message += i + 1 == places.size() ? " and " : ", ";
        message += places[i];
      }
      message += ')';
    } else {
      message = "unknown key \"" + std::string(name) + "\" " + std::string(where);
      if (auto hint = suggest(name, allowed)) message += "; did you mean \"" + *hint + "\"?";
    }
    ctx.errors().add(ctx.pos(key.source()), std::move(message));
  }
}

}  // namespace serverd

namespace serverd {

void check_keys(const toml::table& table, std::string_view where, DirectiveTable rows,
                ConfigContext& ctx) {
  std::vector<std::string_view> names;
  for (const Directive& row : rows) names.push_back(row.name);
  check_keys(table, where, names, ctx);
}

}  // namespace serverd
