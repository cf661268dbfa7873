#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "http/module.hpp"
#include "modules/proxy/proxy_target.hpp"

namespace serverd {

// The proxy module's settings of one block; locations inherit from their server.
struct ProxyConf final : ModuleConf {
  std::optional<ProxyTarget> pass;  // set: this location proxies
  SourcePos pass_pos;
  std::vector<std::pair<std::string, std::string>> set_headers;  // templates
  std::vector<std::string> hide_headers;
  Duration connect_timeout{60'000};
  Duration read_timeout{60'000};
  Duration send_timeout{60'000};
  int next_upstream_tries = 0;  // 0: every server of the group once
  std::uint64_t buffer_size = 64 * 1024;  // bound on response bytes queued for a slow client
};

}  // namespace serverd
