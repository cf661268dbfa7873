#pragma once
// Core's own keys as directive tables (nginx's core and http_core modules): [main], [log],
// [log.rotate], [[server]], [[server.location]] and the nested tables of core (listen items,
// tls, upstreams, their servers and health checks). The loader reads, and `serverd -T` writes,
// every one of these keys from its row.
#include <span>
#include <string_view>

#include "core/directive.hpp"

namespace serverd {

// The rows of [main] (target MainConfig), [[server]] (ServerConfig) or [[server.location]]
// (LocationConfig).
DirectiveTable core_directives(ConfigLevel level);
DirectiveTable log_directives();              // LogConfig
DirectiveTable log_rotate_directives();       // LogRotateConfig
DirectiveTable listen_directives();           // ListenConfig
DirectiveTable tls_directives();              // TlsServerConfig
DirectiveTable upstream_directives();         // UpstreamConfig
DirectiveTable upstream_server_directives();  // UpstreamServerConfig
DirectiveTable health_check_directives();     // HealthCheckConfig

// Every core table with the heading that documents it in man/server.toml.5.
struct CoreTable {
  std::string_view heading;
  DirectiveTable rows;
};
std::span<const CoreTable> core_tables();

}  // namespace serverd
