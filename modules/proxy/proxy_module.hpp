#pragma once
#include "http/module.hpp"

namespace serverd {

// Reverse proxying: `proxy_pass` to an [[upstream]] group or a literal http://host:port, with
// keep-alive pools, retries, streaming in both directions and WebSocket tunnels.
class ProxyModule final : public Module {
 public:
  std::string_view name() const override { return "proxy"; }
  DirectiveTable directives() const override;
  std::shared_ptr<ModuleConf> create(ConfigLevel level, const ModuleConf* parent) const override;
  bool finish(ConfigLevel level, ModuleConf& conf, const toml::table& block, ConfigContext& ctx,
              bool had_errors) const override;
  void validate(const Config& config, ConfigContext& ctx) const override;
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
