#pragma once
// Shared by the loader's translation units (config_loader, config_upstream, config_server,
// config_checks); not an interface for the rest of serverd.
#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/config_context.hpp"
#include "core/config_keys.hpp"
#include "core/config_module.hpp"

namespace serverd {

struct LoadState {
  ConfigContext& ctx;
  const ConfigModuleList& modules;
  const KeyCatalog& keys;
  Config& config;
};

// "FILE:LINE:COL", for messages that point at a second place ("first defined at ...").
inline std::string position_text(const SourcePos& p) {
  return p.file + ':' + std::to_string(p.line) + ':' + std::to_string(p.col);
}

// The table under `key`, or null when absent or not a table (then an error is recorded).
const toml::table* table_at(const toml::table& parent, std::string_view key, ConfigContext& ctx);
// The tables of an array of tables ([[key]]), recording an error for anything else. `path` is
// the key's full dotted name for the hint ("server.location": write [[server.location]]).
std::vector<const toml::table*> tables_at(const toml::table& parent, std::string_view key,
                                          ConfigContext& ctx, std::string_view path = {});

// Runs every module's configure() for one block.
ModuleConfs configure_modules(ConfigLevel level, const toml::table& block,
                              const ModuleConfs& parent, LoadState& st);

std::string_view match_name(MatchKind kind);  // config_core_rows.cpp
void load_upstreams(const toml::table& root, LoadState& st);
void load_servers(const toml::table& root, LoadState& st);
// listen/server_name/default_server consistency across servers.
void check_listeners(LoadState& st);

}  // namespace serverd
