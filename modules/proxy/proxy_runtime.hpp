#pragma once
// The proxy's per-worker state: one upstream group (balancer + passive health) and one
// keep-alive pool per [[upstream]], plus an implicit one-server group per literal
// proxy_pass address.
#include <openssl/ssl.h>

#include <memory>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "event/loop.hpp"
#include "http/variables.hpp"
#include "upstream/keepalive_pool.hpp"
#include "upstream/upstream_group.hpp"

namespace serverd {

struct UpstreamRuntime {
  UpstreamRuntime(EventLoop& loop, std::shared_ptr<const UpstreamConfig> config,
                  std::uint64_t seed);
  std::shared_ptr<const UpstreamConfig> config;
  CompiledTemplate hash_key;  // config->hash_key compiled (balance = "hash")
  UpstreamGroup group;
  KeepalivePool pool;
  // The last TLS session per server, resumed by the next new connection to it: only with the
  // same client context (a session verified under other settings is never reused).
  struct TlsSessionCache {
    const void* context = nullptr;
    std::shared_ptr<SSL_SESSION> session;
  };
  std::vector<TlsSessionCache> tls_sessions;  // by server index, grown on demand
};

class ProxyRuntime {
 public:
  ProxyRuntime(EventLoop& loop, const Config& config, std::uint64_t seed);
  UpstreamRuntime* find(std::string_view name);
  EventLoop& loop() { return loop_; }

 private:
  EventLoop& loop_;
  std::vector<std::unique_ptr<UpstreamRuntime>> upstreams_;
};

}  // namespace serverd
