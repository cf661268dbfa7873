#include "process/master.hpp"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "core/log.hpp"
#include "http/module.hpp"
#include "process/agent.hpp"
#include "process/pid_file.hpp"
#include "process/proc_title.hpp"
#include "process/signals.hpp"
#include "process/spawn.hpp"
#include "process/worker.hpp"

namespace serverd {

namespace {
// A child that lived less than this and died counts towards a crash loop.
constexpr auto kStableLifetime = std::chrono::seconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(10'000);
// Fast shutdown: how long children get for TERM before KILL.
constexpr auto kStopGrace = std::chrono::milliseconds(800);

int online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}
}  // namespace

Master::Master(ConfigPtr config, const ModuleList& modules, ProcessTitle* title)
    : config_(std::move(config)), modules_(modules), title_(title) {
  worker_count_ = config_->main.worker_processes > 0 ? config_->main.worker_processes
                                                     : online_cpus();
}

Master::~Master() = default;

std::string Master::role_name(int id) const {
  return id == kAgent ? std::string("agent") : "worker #" + std::to_string(id);
}

int Master::run() {
  const Config& config = *config_;
  listeners_ = std::make_unique<ListenerSet>(config, worker_count_);
  if (config.main.daemon) daemonize();
  PidFile pid_file(config.main.pid_file);
  init_logging(config.log, "master");
  if (config.main.daemon) redirect_stdio_to_null();
  if (title_) title_->set("serverd: master process");
  for (const Module* m : modules_) m->init_master(config);
  for (const auto& a : listeners_->addresses()) spdlog::info("listening on {}", a.to_string());

  slots_.resize(static_cast<std::size_t>(worker_count_));
  SignalSource signals(loop_,
                       {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH},
                       [this](int signo) { on_signal(signo); });
  spdlog::info("serverd {} starting: 1 agent, {} workers", SERVERD_VERSION, worker_count_);
  spawn(kAgent);
  while (!loop_.stopping()) loop_.run_once(-1);
  spdlog::info("exiting");
  return 0;
}

void Master::spawn(int id) {
  Slot& slot = slot_of(id);
  auto ends = Channel::make_pair();
  Channel master_end = std::move(ends.first);
  Channel child_end = std::move(ends.second);
  std::vector<int> keep{child_end.fd()};
  std::vector<WorkerListener> listeners;
  if (id != kAgent) {
    listeners = listeners_->for_slot(id);
    for (const auto& l : listeners) keep.push_back(l.fd);
  }
  pid_t pid;
  try {
    pid = spawn_process(keep, [&]() -> int {
      if (id == kAgent)
        return run_agent({config_, &modules_, std::move(child_end), title_});
      return run_worker({config_, &modules_, id, std::move(child_end), listeners, title_});
    });
  } catch (const std::exception& e) {
    spdlog::error("cannot start {}: {}", role_name(id), e.what());
    schedule_respawn(id, std::chrono::seconds(0));
    return;
  }
  child_end.close();
  auto child = std::make_unique<Child>();
  child->pid = pid;
  child->id = id;
  child->channel = std::move(master_end);
  child->started = loop_.now();
  Child* c = child.get();
  child->reader = std::make_unique<ChannelReader>(
      loop_, child->channel, [this, c](const Message& m, UniqueFd) { on_message(*c, m); },
      [] { /* the exit itself arrives as SIGCHLD */ });
  children_.push_back(std::move(child));
  slot.current = c;
  spdlog::info("started {} (pid {})", role_name(id), pid);
}

void Master::on_message(Child& child, const Message& m) {
  if (m.header.to != kMaster) {
    relay(m);
    return;
  }
  switch (m.header.type) {
    case MessageType::ready:
      child.ready = true;
      if (phase_ == Phase::starting) {
        if (child.id == kAgent) {
          for (int i = 0; i < worker_count_; ++i)
            if (!slots_[static_cast<std::size_t>(i)].current) spawn(i);
        }
        check_all_ready();
      } else if (phase_ == Phase::running) {
        spdlog::info("{} (pid {}) is ready", role_name(child.id), child.pid);
        child.channel.send(Message::make(MessageType::all_ready, kMaster, child.id));
      }
      break;
    case MessageType::leaving: {
      spdlog::warn("{} (pid {}) is leaving after a fatal error: {}", role_name(child.id), child.pid,
                   m.text());
      Slot& slot = slot_of(child.id);
      if (slot.current == &child && (phase_ == Phase::running || phase_ == Phase::starting)) {
        slot.current = nullptr;  // it drains on its own; its replacement starts now
        spawn(child.id);
      }
      break;
    }
    default:
      spdlog::warn("unexpected {} message from {}", message_type_name(m.header.type),
                   role_name(child.id));
  }
}

void Master::relay(const Message& m) {
  auto deliver = [&](Slot& slot) {
    if (slot.current && slot.current->ready) slot.current->channel.send(m);
  };
  if (m.header.to == kAllWorkers) {
    for (auto& s : slots_) deliver(s);
  } else if (m.header.to == kAgent) {
    deliver(agent_slot_);
  } else if (m.header.to >= 0 && m.header.to < worker_count_) {
    deliver(slots_[static_cast<std::size_t>(m.header.to)]);
  } else {
    spdlog::warn("dropping a {} message to unknown process {}", message_type_name(m.header.type),
                 m.header.to);
  }
}

void Master::check_all_ready() {
  if (phase_ != Phase::starting) return;
  if (!agent_slot_.current || !agent_slot_.current->ready) return;
  for (auto& s : slots_)
    if (!s.current || !s.current->ready) return;
  phase_ = Phase::running;
  spdlog::info("serverd ready: 1 agent and {} workers serving", worker_count_);
  for (auto& c : children_) c->channel.send(Message::make(MessageType::all_ready, kMaster, c->id));
}

void Master::on_signal(int signo) {
  switch (signo) {
    case SIGCHLD:
      reap();
      break;
    case SIGQUIT:
      spdlog::info("received QUIT: graceful shutdown");
      begin_quit();
      break;
    case SIGTERM:
    case SIGINT:
      spdlog::info("received {}: fast shutdown", signo == SIGTERM ? "TERM" : "INT");
      begin_stop();
      break;
    case SIGUSR1:
      reopen_logging(config_->log, "master");
      spdlog::info("received USR1: reopened log files");
      for (auto& c : children_) c->channel.send(Message::make(MessageType::reopen, kMaster, c->id));
      break;
    case SIGWINCH:
      if (phase_ == Phase::running || phase_ == Phase::starting) {
        spdlog::info("received WINCH: stopping workers gracefully");
        phase_ = Phase::workers_stopped;
        stop_workers();
      }
      break;
    case SIGHUP:
      spdlog::warn("received HUP: configuration reload is not available in this version; "
                   "still serving with the current configuration");
      break;
    case SIGUSR2:
      spdlog::warn("received USR2: binary upgrade is not available in this version");
      break;
  }
}

void Master::stop_workers() {
  for (auto& s : slots_) {
    if (s.respawn) s.respawn->cancel();
    s.current = nullptr;
  }
  for (auto& c : children_)
    if (c->id != kAgent) c->channel.send(Message::make(MessageType::quit, kMaster, c->id));
}

void Master::begin_quit() {
  if (phase_ == Phase::quitting || phase_ == Phase::stopping) return;
  phase_ = Phase::quitting;
  if (agent_slot_.respawn) agent_slot_.respawn->cancel();
  stop_workers();
  // The agent keeps doing its chores while workers drain, and leaves last.
  deadline_ = std::make_unique<Timer>(loop_.timers(), [this] {
    spdlog::warn("shutdown_timeout reached: killing {} remaining processes", children_.size());
    for (auto& c : children_) ::kill(c->pid, SIGKILL);
  });
  deadline_->arm(config_->main.shutdown_timeout + std::chrono::seconds(1));
  maybe_finish();
}

void Master::begin_stop() {
  if (phase_ == Phase::stopping) return;
  phase_ = Phase::stopping;
  for (auto& s : slots_) {
    if (s.respawn) s.respawn->cancel();
    s.current = nullptr;
  }
  if (agent_slot_.respawn) agent_slot_.respawn->cancel();
  agent_slot_.current = nullptr;
  for (auto& c : children_) ::kill(c->pid, SIGTERM);
  deadline_ = std::make_unique<Timer>(loop_.timers(), [this] {
    for (auto& c : children_) ::kill(c->pid, SIGKILL);
  });
  deadline_->arm(std::chrono::duration_cast<std::chrono::milliseconds>(kStopGrace));
  maybe_finish();
}

void Master::maybe_finish() {
  if (phase_ != Phase::quitting && phase_ != Phase::stopping) return;
  bool workers_left = std::any_of(children_.begin(), children_.end(),
                                  [](const auto& c) { return c->id != kAgent; });
  if (phase_ == Phase::quitting && !workers_left && agent_slot_.current) {
    agent_slot_.current->channel.send(Message::make(MessageType::quit, kMaster, kAgent));
    agent_slot_.current = nullptr;
  }
  if (children_.empty()) loop_.stop();
}

Master::Child* Master::find(pid_t pid) {
  for (auto& c : children_)
    if (c->pid == pid) return c.get();
  return nullptr;
}

void Master::reap() {
  for (int i = 0; i < 1024; ++i) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    Child* c = find(pid);
    if (!c) continue;
    on_exit(*c, status);
  }
}

void Master::on_exit(Child& child, int status) {
  const int id = child.id;
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  Slot& slot = slot_of(id);
  const bool was_current = slot.current == &child;
  const auto lived = loop_.now() - child.started;
  if (clean && !was_current)
    spdlog::info("{} (pid {}) {}", role_name(id), child.pid, describe_exit(status));
  else
    spdlog::warn("{} (pid {}) {}", role_name(id), child.pid, describe_exit(status));
  if (was_current) slot.current = nullptr;
  children_.erase(std::find_if(children_.begin(), children_.end(),
                               [&](const auto& c) { return c.get() == &child; }));

  bool respawn = was_current && (phase_ == Phase::running || phase_ == Phase::starting ||
                                 (phase_ == Phase::workers_stopped && id == kAgent));
  if (respawn) schedule_respawn(id, lived);
  maybe_finish();
}

void Master::schedule_respawn(int id, Clock::duration lived) {
  Slot& slot = slot_of(id);
  slot.failures = lived >= kStableLifetime ? 1 : slot.failures + 1;
  std::chrono::milliseconds delay{0};
  if (slot.failures > 1) {
    int shift = std::min(slot.failures - 2, 10);
    delay = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100) * (1 << shift),
                                                kMaxBackoff);
  }
  if (!slot.respawn) slot.respawn = std::make_unique<Timer>(loop_.timers(), [this, id] {
    if (phase_ == Phase::running || phase_ == Phase::starting ||
        (phase_ == Phase::workers_stopped && id == kAgent))
      spawn(id);
  });
  if (delay.count() == 0) {
    spdlog::info("respawning {}", role_name(id));
    spawn(id);
  } else {
    spdlog::warn("{} is crash-looping ({} failures in a row): respawning in {}ms", role_name(id),
                 slot.failures, delay.count());
    slot.respawn->arm(delay);
  }
}

}  // namespace serverd
