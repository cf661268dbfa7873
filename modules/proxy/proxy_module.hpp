#pragma once
#include "http/module.hpp"

namespace serverd {

// Reverse proxying: `proxy_pass` to an [[upstream]] group or a literal http://host:port, with
// keep-alive pools, retries, streaming in both directions and WebSocket tunnels.
class ProxyModule final : public Module {
 public:
  std::string_view name() const override { return "proxy"; }
  std::span<const ConfigKey> keys() const override;
  ModuleConfPtr configure(ConfigLevel level, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override;
  void validate(const Config& config, ConfigContext& ctx) const override;
  void dump(const ModuleConf& conf, toml::table& out) const override;
  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf& conf) const override;
  void handle(Exchange& exchange, const ModuleConf& conf) const override;
  bool streams_request_body() const override { return true; }
  void init_worker(WorkerContext& worker) const override;
  void exit_worker(WorkerContext& worker) const override;
  // "health": lines "<upstream> <server index> up|down" from the agent's health checks.
  void on_broadcast(WorkerContext& worker, std::string_view topic,
                    std::string_view payload) const override;
};

}  // namespace serverd
