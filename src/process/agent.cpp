#include "process/agent.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "core/log.hpp"
#include "event/loop.hpp"
#include "process/channel_reader.hpp"
#include "process/proc_title.hpp"
#include "process/signals.hpp"
#include "process/spawn.hpp"

namespace serverd {

int run_agent(AgentParams p) {
  const Config& config = *p.config;
  if (p.title) p.title->set("serverd: agent process");
  init_logging(config.log, "agent");
  drop_privileges(config.main.user);

  EventLoop loop;
  ChannelReader channel(
      loop, p.channel,
      [&](const Message& m, UniqueFd) {
        switch (m.header.type) {
          case MessageType::all_ready:
            // Proves the relay path on every start: agent -> master -> every worker -> back.
            p.channel.send(Message::make(MessageType::ping, kAgent, kAllWorkers, "ipc check"));
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
