// libFuzzer target: the `serverd -t` path (TOML text -> validated Config). A config either
// loads or gets errors, each with a position inside the file; a config that loads must dump
// (`-T`) to TOML that loads back to the same dump.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config_loader.hpp"
#include "fuzz_check.hpp"
#include "modules/modules.hpp"

using serverd::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16 * 1024) return 0;  // configs are small; long inputs only slow the search
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A base directory that does not exist: file-reading keys fail cleanly instead of
  // touching the machine.
  const std::filesystem::path base = "/nonexistent/serverd-fuzz";
  const auto& modules = serverd::builtin_modules();
  auto result = serverd::load_config_text(text, "fuzz.toml", base, modules);
  if (!result.config) {
    require(!result.errors.empty(), "a config was refused without an error");
    for (const auto& error : result.errors.items()) {
      require(error.pos.line >= 1 && error.pos.col >= 1, "an error without a position",
              error.message);
      require(!error.message.empty(), "an empty error message");
    }
    return 0;
  }
  require(result.errors.empty(), "a config loaded with errors");
  const std::string dump = serverd::dump_config(*result.config, modules);
  auto again = serverd::load_config_text(dump, "dump.toml", base, modules);
  require(again.config != nullptr, "the -T dump of a valid config does not load", dump);
  require(serverd::dump_config(*again.config, modules) == dump,
          "the -T dump does not load back to the same config", dump);
  return 0;
}
