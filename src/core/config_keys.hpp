#pragma once
// Which keys a config block accepts: the rows of core's table for its level plus the rows every
// module declares there. Anything else is an error at the key, with a "did you mean" hint, so a
// typo never silently falls back to a default.
#include <toml++/toml.h>

#include <span>
#include <string_view>
#include <vector>

#include "core/config_context.hpp"
#include "core/config_module.hpp"
#include "core/directive.hpp"

namespace serverd {

class KeyCatalog {
 public:
  explicit KeyCatalog(const ConfigModuleList& modules);

  // Core keys of the level first, then the modules' in list order.
  const std::vector<std::string_view>& allowed(ConfigLevel level) const;
  // ConfigLevel bits of every level that accepts `key` (0: none).
  unsigned levels_of(std::string_view key) const;

 private:
  std::vector<std::string_view> main_, server_, location_;
};

// "[main]", "[[server]]", "[[server.location]]"
std::string_view block_name(ConfigLevel level);

// Records an error for every key of `table` that is not in `allowed`. `where` completes the
// message: "in [[server]]", "at the top level". With a catalog, a key that belongs to another
// level says where it may go instead.
void check_keys(const toml::table& table, std::string_view where,
                std::span<const std::string_view> allowed, ConfigContext& ctx,
                const KeyCatalog* catalog = nullptr);
// The same with the names of a directive table.
void check_keys(const toml::table& table, std::string_view where, DirectiveTable rows,
                ConfigContext& ctx);

}  // namespace serverd
