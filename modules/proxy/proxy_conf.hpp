#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "http/module.hpp"
#include "http/variables.hpp"
#include "modules/proxy/proxy_target.hpp"

namespace serverd {

// The proxy module's settings of one block; locations inherit from their server.
struct ProxyConf final : ModuleConf {
  std::optional<ProxyTarget> pass;  // set: this location proxies
  SourcePos pass_pos;
  std::vector<std::pair<std::string, std::string>> set_headers;  // templates
  std::vector<CompiledTemplate> set_header_values;  // set_headers' values compiled, same order
  std::vector<std::string> hide_headers;
  Duration connect_timeout{60'000};
  Duration read_timeout{60'000};
  Duration send_timeout{60'000};
  int next_upstream_tries = 0;            // 0: every server of the group once
  std::uint64_t buffer_size = 64 * 1024;  // bound on response bytes queued for a slow client

  // Upstream TLS (proxy_pass "https://..."), nginx's proxy_ssl_* directives.
  bool ssl_verify = true;                         // check the chain and the name
  std::filesystem::path ssl_trusted_certificate;  // CA bundle; empty = the system's
  bool ssl_server_name = true;                    // send SNI (never for an IP address)
  std::string ssl_name;                           // SNI / verified name; empty = proxy_pass host
  std::filesystem::path ssl_certificate;          // client certificate for the upstream
  std::filesystem::path ssl_certificate_key;
  std::shared_ptr<const TlsContext> tls;  // built when proxy_pass is https
  std::string tls_sni;                    // derived: what is sent as SNI
  std::string tls_verify_name;            // derived: what the certificate must match

  // Compiles set_headers into set_header_values, once set_headers is final.
  void compile_set_headers() {
    set_header_values.clear();
    for (const auto& h : set_headers) set_header_values.push_back(compile_template(h.second));
  }
};

}  // namespace serverd
