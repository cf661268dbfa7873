#include "modules/proxy/proxy_runtime.hpp"

#include "modules/proxy/proxy_conf.hpp"

namespace serverd {

namespace {
// Idle upstream connections are closed after this (the upstream would close them anyway).
constexpr std::chrono::milliseconds kIdleTimeout{60'000};
// Literal proxy_pass addresses keep this many idle connections (HTTP/1.1 upstreams, as
// HAProxy does by default; nginx needs an upstream block for it).
constexpr int kImplicitKeepalive = 32;
}  // namespace

UpstreamRuntime::UpstreamRuntime(EventLoop& loop, std::shared_ptr<const UpstreamConfig> c,
                                 std::uint64_t seed)
    : config(std::move(c)),
      hash_key(compile_template(config->hash_key)),
      group(*config, seed),
      pool(loop, static_cast<std::size_t>(config->keepalive), kIdleTimeout) {}

ProxyRuntime::ProxyRuntime(EventLoop& loop, const Config& config, std::uint64_t seed)
    : loop_(loop) {
  for (const auto& u : config.upstreams) {
    // Aliasing shared_ptr: the Config outlives the worker's runtime.
    std::shared_ptr<const UpstreamConfig> c(std::shared_ptr<const UpstreamConfig>(), &u);
    upstreams_.push_back(std::make_unique<UpstreamRuntime>(loop, c, seed + upstreams_.size()));
  }
  for (const auto& server : config.servers) {
    for (const auto& loc : server.locations) {
      for (const auto& m : loc.modules) {
        const auto* conf = dynamic_cast<const ProxyConf*>(m.get());
        if (!conf || !conf->pass || find(conf->pass->authority)) continue;
        std::string error;
        auto address = parse_listen_address(conf->pass->authority, &error);
        if (!address) continue;  // the loader refused it already
        auto u = std::make_shared<UpstreamConfig>();
        u->name = conf->pass->authority;
        u->keepalive = kImplicitKeepalive;
        UpstreamServerConfig s;
        s.address_text = conf->pass->authority;
        s.address = *address;
        u->servers.push_back(s);
        upstreams_.push_back(std::make_unique<UpstreamRuntime>(loop, u, seed + upstreams_.size()));
      }
    }
  }
}

UpstreamRuntime* ProxyRuntime::find(std::string_view name) {
  for (auto& u : upstreams_)
    if (u->config->name == name) return u.get();
  return nullptr;
}

}  // namespace serverd
