#include "process/worker.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "core/log.hpp"
#include "event/loop.hpp"
#include "http/module.hpp"
#include "http/server.hpp"
#include "process/channel_reader.hpp"
#include "process/proc_title.hpp"
#include "process/signals.hpp"
#include "process/spawn.hpp"
#include "process/worker_context.hpp"
#include "tls/ticket_keys.hpp"

namespace serverd {

int run_worker(WorkerParams p) {
  const Config& config = *p.config;
  const std::string role = "worker #" + std::to_string(p.slot);
  if (p.title) p.title->set("serverd: worker process");
  init_logging(config.log, role);
  apply_worker_limits(config.main, p.slot);
  drop_privileges(config.main.user);

  EventLoop loop;
  WorkerContext context(loop, config, p.slot);
  for (const Module* m : *p.modules) m->init_worker(context);

  HttpServer server(loop, p.config, *p.modules, context);
  if (auto keys = TicketKeys::parse(p.ticket_keys)) server.ticket_keys() = *keys;
  for (const auto& l : p.listeners) server.add_listener(l.fd, l.address, l.exclusive);

  bool quitting = false;
  bool left = false;
  Timer quit_deadline(loop.timers(), [&] {
    spdlog::warn("shutdown_timeout reached, closing {} connections", server.connection_count());
    server.close_all();
    loop.stop();
  });
  auto graceful = [&](std::string_view why) {
    if (quitting) return;
    quitting = true;
    spdlog::info("{}: shutting down gracefully ({} connections)", why, server.connection_count());
    server.shutdown_gracefully();
    p.channel.send(Message::make(MessageType::stopped_accepting, p.slot, kMaster));
    quit_deadline.arm(config.main.shutdown_timeout);
  };
  auto fast = [&](std::string_view why) {
    spdlog::info("{}: exiting", why);
    server.close_all();
    loop.stop();
  };

  ChannelReader channel(
      loop, p.channel,
      [&](const Message& m, UniqueFd) {
        switch (m.header.type) {
          case MessageType::quit:
            graceful("asked to quit");
            break;
          case MessageType::terminate:
            fast("asked to stop");
            break;
          case MessageType::reopen:
            reopen_logging(config.log, role);
            for (const Module* mod : *p.modules) mod->reopen_logs(context);
            spdlog::info("reopened log files");
            p.channel.send(Message::make(MessageType::reopened, p.slot, kMaster, m.text()));
            break;
          case MessageType::module_message: {
            std::string_view text = m.text();
            auto nl = text.find('\n');
            std::string_view topic = text.substr(0, nl);
            std::string_view payload = nl == text.npos ? std::string_view() : text.substr(nl + 1);
            for (const Module* mod : *p.modules) mod->on_broadcast(context, topic, payload);
            break;
          }
          case MessageType::ticket_keys:
            if (auto keys = TicketKeys::parse(m.text())) {
              server.ticket_keys() = *keys;
              spdlog::debug("received {} TLS session-ticket keys", keys->size());
            } else {
              spdlog::warn("ignoring a malformed ticket_keys message");
            }
            break;
          case MessageType::ping:
            p.channel.send(Message::make(MessageType::pong, p.slot, m.header.from, m.text()));
            break;
          case MessageType::all_ready:
            spdlog::debug("every process is ready");
            break;
          default:
            spdlog::warn("unexpected {} message from the master", message_type_name(m.header.type));
        }
      },
      [&] { graceful("the master process is gone"); });

  SignalSource signals(loop, {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}, [&](int signo) {
    if (signo == SIGQUIT)
      graceful("received QUIT");
    else if (signo == SIGUSR1) {
      reopen_logging(config.log, role);
      for (const Module* mod : *p.modules) mod->reopen_logs(context);
      spdlog::info("reopened log files");
    } else
      fast(signo == SIGTERM ? "received TERM" : "received INT");
  });

  // An exception escaping the loop is a bug in this worker: say so, let the master start a
  // replacement at once, and finish what is in flight here before exiting.
  server.set_fatal_handler([&](const std::string& what) {
    if (left) return;
    left = true;
    spdlog::critical("fatal error: {}; leaving", what);
    p.channel.send(Message::make(MessageType::leaving, p.slot, kMaster, what));
    graceful("fatal error");
  });

  p.channel.send(Message::make(MessageType::ready, p.slot, kMaster));
  spdlog::info("started");
  while (!loop.stopping()) {
    try {
      loop.run_once(-1);
    } catch (const std::exception& e) {
      server.report_fatal(e.what());
    }
    if (quitting && server.connection_count() == 0) loop.stop();
  }
  server.close_all();
  for (const Module* m : *p.modules) m->exit_worker(context);
  context.clear_states();
  spdlog::info("exiting");
  return 0;
}

}  // namespace serverd
