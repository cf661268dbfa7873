#include "process/single_process.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "core/log.hpp"
#include "event/loop.hpp"
#include "event/socket.hpp"
#include "http/module.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "process/pid_file.hpp"
#include "process/signals.hpp"
#include "process/worker_context.hpp"

namespace serverd {

int run_single_process(ConfigPtr config, const ModuleList& modules) {
  std::signal(SIGPIPE, SIG_IGN);
  Router router(*config);
  std::vector<std::pair<UniqueFd, SocketAddress>> sockets;
  for (const ListenConfig* l : router.listeners()) {
    sockets.emplace_back(open_listener(l->address, {l->backlog, l->reuseport}), l->address);
  }
  PidFile pid_file(config->main.pid_file);
  init_logging(config->log, "serverd");

  EventLoop loop;
  for (const Module* m : modules) m->init_master(*config);
  WorkerContext worker(loop, *config, 0);
  for (const Module* m : modules) m->init_worker(worker);

  HttpServer server(loop, config, modules);
  for (auto& [fd, address] : sockets) {
    server.add_listener(fd.get(), address, false);
    spdlog::info("listening on {}", address.to_string());
  }

  bool quitting = false;
  Timer quit_deadline(loop.timers(), [&] {
    spdlog::warn("shutdown_timeout reached, closing {} connections", server.connection_count());
    server.close_all();
    loop.stop();
  });
  SignalSource signals(loop, {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1}, [&](int signo) {
    switch (signo) {
      case SIGTERM:
      case SIGINT:
        spdlog::info("received {}, exiting", signo == SIGTERM ? "TERM" : "INT");
        server.close_all();
        loop.stop();
        break;
      case SIGQUIT:
        if (quitting) break;
        quitting = true;
        spdlog::info("received QUIT, shutting down gracefully");
        server.shutdown_gracefully();
        quit_deadline.arm(config->main.shutdown_timeout);
        break;
      case SIGUSR1:
        reopen_logging(config->log, "serverd");
        spdlog::info("reopened log files");
        break;
      case SIGHUP:
        spdlog::warn("received HUP: configuration reload is not available in this version");
        break;
    }
  });
  spdlog::info("serverd {} started", SERVERD_VERSION);

  while (!loop.stopping()) {
    loop.run_once(-1);
    if (quitting && server.connection_count() == 0) loop.stop();
  }
  for (const Module* m : modules) m->exit_worker(worker);
  spdlog::info("exiting");
  return 0;
}

}  // namespace serverd
