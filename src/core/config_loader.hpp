#pragma once
// TOML -> Config. Reports every error (syntax, unknown key with a "did you mean" hint, wrong
// type, bad duration/size/address, duplicate listen+server_name, two handlers in one location)
// as FILE:LINE:COL: message.
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/errors.hpp"

namespace serverd {

class ConfigModuleList;  // core/config_module.hpp

struct LoadResult {
  // Null when errors is not empty. Still mutable: the TLS contexts are built into it after
  // loading (build_tls_contexts), before it is shared.
  std::shared_ptr<Config> config;
  ErrorList errors;
  // Best effort even when there are errors: what [main] said, defaults for the rest. `serverd -s
  // reload` needs the pid file of a config it cannot accept, so the master is the one to refuse
  // (and log) it. pid_file is empty when the file could not be read at all.
  MainConfig main;
};

LoadResult load_config_file(const std::string& path, const ConfigModuleList& modules);
// For tests and -T round trips: `file_name` is what errors are reported against, `base_dir`
// what relative paths resolve against.
LoadResult load_config_text(std::string_view text, const std::string& file_name,
                            const std::filesystem::path& base_dir, const ConfigModuleList& modules);

// The effective config with every default filled in, as TOML that loads back to the same config.
std::string dump_config(const Config& config, const ConfigModuleList& modules);

}  // namespace serverd
