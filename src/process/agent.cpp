#include "process/agent.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/log.hpp"
#include "event/loop.hpp"
#include "http/module.hpp"
#include "process/channel_reader.hpp"
#include "process/health_checker.hpp"
#include "process/log_rotator.hpp"
#include "process/proc_title.hpp"
#include "process/signals.hpp"
#include "process/spawn.hpp"
#include "tls/ticket_keys.hpp"

namespace serverd {

int run_agent(AgentParams p) {
  const Config& config = *p.config;
  if (p.title) p.title->set("serverd: agent process");
  init_logging(config.log, "agent");
  drop_privileges(config.main.user);

  EventLoop loop;
  auto send_health = [&](std::int32_t to, const std::string& payload) {
    if (!payload.empty())
      p.channel.send(Message::make(MessageType::module_message, kAgent, to, "health\n" + payload));
  };
  HealthChecker health(loop, config,
                       [&](const std::string& payload) { send_health(kAllWorkers, payload); });

  std::unique_ptr<LogRotator> rotator;
  if (config.log.rotate.enabled) {
    std::vector<std::filesystem::path> files;
    if (error_log_is_file(config.log)) files.emplace_back(config.log.error_log);
    for (const Module* m : *p.modules) m->log_files(config, files);
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    rotator =
        std::make_unique<LogRotator>(loop, config.log.rotate, files, [&](const std::string& id) {
          reopen_logging(config.log, "agent");
          p.channel.send(Message::make(MessageType::rotate, kAgent, kMaster, id));
        });
  }

  // TLS session-ticket keys: a new one every period; the master keeps the set and hands it out.
  std::unique_ptr<Timer> ticket_timer;
  ticket_timer = std::make_unique<Timer>(loop.timers(), [&] {
    try {
      TicketKeys one;
      one.add(TicketKey::generate());
      p.channel.send(Message::make(MessageType::ticket_key, kAgent, kMaster, one.serialize()));
    } catch (const std::exception& e) {
      spdlog::error("cannot create a TLS session-ticket key: {}", e.what());
    }
    ticket_timer->arm(config.main.tls_ticket_key_rotation);
  });
  if (std::any_of(config.servers.begin(), config.servers.end(),
                  [](const ServerConfig& s) { return s.tls.has_value(); }))
    ticket_timer->arm(config.main.tls_ticket_key_rotation);

  ChannelReader channel(
      loop, p.channel,
      [&](const Message& m, UniqueFd) {
        switch (m.header.type) {
          case MessageType::all_ready:
            // Proves the relay path on every start: agent -> master -> every worker -> back.
            p.channel.send(Message::make(MessageType::ping, kAgent, kAllWorkers, "ipc check"));
            send_health(kAllWorkers, health.down_state());
            break;
          case MessageType::worker_ready:
            send_health(std::atoi(std::string(m.text()).c_str()), health.down_state());
            break;
          case MessageType::rotate_done:
            if (rotator) rotator->on_reopened(std::string(m.text()));
            break;
          case MessageType::pong:
            spdlog::info("ipc round trip: pong from worker #{} (\"{}\")", m.header.from, m.text());
            break;
          case MessageType::reopen:
            reopen_logging(config.log, "agent");
            spdlog::info("reopened log files");
            break;
          case MessageType::quit:
          case MessageType::terminate:
            loop.stop();
            break;
          default:
            spdlog::warn("unexpected {} message", message_type_name(m.header.type));
        }
      },
      [&] {
        spdlog::info("the master process is gone");
        loop.stop();
      });
  SignalSource signals(loop, {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}, [&](int signo) {
    if (signo == SIGUSR1) {
      reopen_logging(config.log, "agent");
      spdlog::info("reopened log files");
    } else {
      loop.stop();
    }
  });

  p.channel.send(Message::make(MessageType::ready, kAgent, kMaster));
  spdlog::info("started");
  loop.run();
  spdlog::info("exiting");
  return 0;
}

}  // namespace serverd
