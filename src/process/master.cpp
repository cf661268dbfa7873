#include "process/master.hpp"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "core/log.hpp"
#include "http/module.hpp"
#include "process/agent.hpp"
#include "process/pid_file.hpp"
#include "process/proc_title.hpp"
#include "process/sd_notify.hpp"
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
constexpr std::initializer_list<int> kMasterSignals{SIGCHLD, SIGTERM, SIGINT,  SIGQUIT,
                                                    SIGHUP,  SIGUSR1, SIGUSR2, SIGWINCH};
}  // namespace

int worker_count_for(const Config& config) {
  if (config.main.worker_processes > 0) return config.main.worker_processes;
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Master::Master(ConfigPtr config, const ModuleList& modules, MasterOptions options)
    : config_(std::move(config)), modules_(modules), options_(std::move(options)) {
  std::error_code ec;
  exe_path_ = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (const char* fd = std::getenv("SERVERD_UPGRADE_FD")) {
    parent_channel_ = Channel(UniqueFd(std::atoi(fd)));
    if (const char* fds = std::getenv("SERVERD_LISTEN_FDS"))
      inherited_ = ListenerSet::from_environment(fds);
    ::unsetenv("SERVERD_UPGRADE_FD");
    ::unsetenv("SERVERD_LISTEN_FDS");
  }
}

Master::~Master() = default;

std::string Master::role_name(const Child& c) const {
  std::string name = c.id == kAgent ? std::string("agent") : "worker #" + std::to_string(c.id);
  if (c.gen && c.gen->number > 1) name += " (generation " + std::to_string(c.gen->number) + ")";
  return name;
}

Master::Slot& Master::slot_of(Generation& g, int id) {
  return id == kAgent ? g.agent : g.slots[static_cast<std::size_t>(id)];
}

Master::Generation* Master::active() {
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it)
    if ((*it)->state == Generation::State::active) return it->get();
  return nullptr;
}

int Master::run() {
  const Config& config = *config_;
  const bool upgrading = static_cast<bool>(parent_channel_);
  // Block the master's signals before the first port is bound: a client (or a test) that sees
  // the port open may signal at once, and the default action of TERM or HUP would kill the
  // master. Blocked signals stay pending until the signalfd below reads them; that one is
  // made after daemonize(), as an epoll watch on a signalfd does not follow a fork.
  block_signals(kMasterSignals);
  // Titled before daemonizing, so that the detached master is never seen under its argv.
  if (options_.title) options_.title->set("serverd: master process");
  ListenerSet listeners = ListenerSet::build(config, worker_count_for(config), inherited_);
  inherited_.clear();  // inherited sockets the config no longer uses close here
  if (config.main.daemon && !upgrading) daemonize();
  pid_file_ = std::make_unique<PidFile>(config.main.pid_file);
  init_logging(config.log, "master");
  if (config.main.daemon && !upgrading) redirect_stdio_to_null();
  for (const Module* m : modules_) m->init_master(config);
  ticket_keys_.add(TicketKey::generate());
  for (const auto& a : listeners.addresses()) spdlog::info("listening on {}", a.to_string());

  SignalSource signals(loop_, kMasterSignals, [this](int signo) { on_signal(signo); });
  control_ = std::make_unique<ControlServer>(
      loop_, control_socket_path(config.main.pid_file),
      [this](const std::string& command, RequestPtr request) { on_command(command, request); });
  std::unique_ptr<ChannelReader> parent_reader;
  if (upgrading) {
    spdlog::info("binary upgrade: taking over from master pid {}", ::getppid());
    parent_reader = std::make_unique<ChannelReader>(
        loop_, parent_channel_, [](const Message&, UniqueFd) {}, [] {});
  }
  spdlog::info("serverd {} starting", SERVERD_VERSION);
  start_generation(config_, std::move(listeners));
  while (!loop_.stopping()) loop_.run_once(-1);
  control_->close();
  sd_notify("STOPPING=1");
  spdlog::info("exiting");
  return 0;
}

void Master::spawn(Generation& g, int id) {
  Slot& slot = slot_of(g, id);
  auto ends = Channel::make_pair();
  Channel master_end = std::move(ends.first);
  Channel child_end = std::move(ends.second);
  std::vector<int> keep{child_end.fd()};
  std::vector<WorkerListener> listeners;
  if (id != kAgent) {
    listeners = g.listeners.for_slot(id);
    for (const auto& l : listeners) keep.push_back(l.fd);
  }
  pid_t pid;
  try {
    pid = spawn_process(keep, [&]() -> int {
      if (id == kAgent)
        return run_agent({g.config, &modules_, std::move(child_end), options_.title});
      return run_worker({g.config, &modules_, id, std::move(child_end), listeners, options_.title,
                         ticket_keys_.serialize()});
    });
  } catch (const std::exception& e) {
    spdlog::error("cannot start a process: {}", e.what());
    schedule_respawn(g, id, std::chrono::seconds(0));
    return;
  }
  auto child = std::make_unique<Child>();
  child->pid = pid;
  child->id = id;
  child->gen = &g;
  child->channel = std::move(master_end);
  child->started = loop_.now();
  Child* c = child.get();
  child->reader = std::make_unique<ChannelReader>(
      loop_, child->channel, [this, c](const Message& m, UniqueFd) { on_message(*c, m); },
      [] { /* the exit itself arrives as SIGCHLD */ });
  children_.push_back(std::move(child));
  slot.current = c;
  spdlog::info("started {} (pid {})", role_name(*c), pid);
}

void Master::on_message(Child& child, const Message& m) {
  Generation& g = *child.gen;
  if (m.header.to != kMaster) {
    relay(g, m);
    return;
  }
  switch (m.header.type) {
    case MessageType::ready:
      on_ready(child);
      break;
    case MessageType::rotate:
      if (child.id == kAgent) start_rotation(child, std::string(m.text()));
      break;
    case MessageType::ticket_key:
      if (child.id == kAgent && g.state == Generation::State::active) add_ticket_key(m.text());
      break;
    case MessageType::reopened:
      rotation_acked(child.pid);
      break;
    case MessageType::stopped_accepting:
      reload_worker_stopped(child.pid);
      break;
    case MessageType::leaving: {
      spdlog::warn("{} (pid {}) is leaving after a fatal error: {}", role_name(child), child.pid,
                   m.text());
      Slot& slot = slot_of(g, child.id);
      if (slot.current == &child && g.state == Generation::State::active &&
          phase_ == Phase::running) {
        slot.current = nullptr;  // it drains on its own; its replacement starts now
        spawn(g, child.id);
      }
      break;
    }
    default:
      spdlog::warn("unexpected {} message from {}", message_type_name(m.header.type),
                   role_name(child));
  }
}

void Master::add_ticket_key(std::string_view payload) {
  auto fresh = TicketKeys::parse(payload);
  if (!fresh || fresh->size() != 1) {
    spdlog::warn("ignoring a malformed ticket_key message");
    return;
  }
  ticket_keys_.add(*fresh->current());
  const Message m =
      Message::make(MessageType::ticket_keys, kMaster, kAllWorkers, ticket_keys_.serialize());
  // Every live worker, of every generation: a draining one still resumes sessions.
  for (auto& c : children_)
    if (c->id != kAgent) c->channel.send(m);
  spdlog::info("rotated the TLS session-ticket key ({} keys in use)", ticket_keys_.size());
}

void Master::relay(Generation& g, const Message& m) {
  auto deliver = [&](Slot& slot) {
    if (slot.current && slot.current->ready) slot.current->channel.send(m);
  };
  if (m.header.to == kAllWorkers) {
    for (auto& s : g.slots) deliver(s);
  } else if (m.header.to == kAgent) {
    deliver(g.agent);
  } else if (m.header.to >= 0 && m.header.to < g.worker_count) {
    deliver(g.slots[static_cast<std::size_t>(m.header.to)]);
  } else {
    spdlog::warn("dropping a {} message to unknown process {}", message_type_name(m.header.type),
                 m.header.to);
  }
}

void Master::send_to(Generation& g, MessageType type, bool workers, bool agent) {
  for (auto& c : children_) {
    if (c->gen != &g) continue;
    if ((c->id == kAgent && agent) || (c->id != kAgent && workers))
      c->channel.send(Message::make(type, kMaster, c->id));
  }
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
      if (Generation* g = active(); g && !g->workers_stopped && phase_ == Phase::running) {
        spdlog::info("received WINCH: stopping workers gracefully");
        g->workers_stopped = true;
        g->release_workers();
        send_to(*g, MessageType::quit, true, false);
      }
      break;
    case SIGHUP:
      spdlog::info("received HUP: reloading the configuration");
      reload(nullptr);
      break;
    case SIGUSR2:
      spdlog::info("received USR2: upgrading the binary");
      upgrade(nullptr);
      break;
  }
}

void Master::begin_quit() {
  if (phase_ != Phase::running) return;
  phase_ = Phase::quitting;
  sd_notify("STOPPING=1");
  finish_reload(false, "error serverd is shutting down");
  for (auto& g : generations_) {
    g->release_workers();
    if (g->agent.respawn) g->agent.respawn->cancel();
    // The agents keep doing their chores while workers drain, and leave last.
    send_to(*g, MessageType::quit, true, false);
    // Nobody will accept on them again: new connections are refused from now on.
    g->listeners = ListenerSet();
  }
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
  sd_notify("STOPPING=1");
  finish_reload(false, "error serverd is shutting down");
  for (auto& g : generations_) {
    g->release_workers();
    g->agent.release();
  }
  for (auto& c : children_) ::kill(c->pid, SIGTERM);
  deadline_ = std::make_unique<Timer>(loop_.timers(), [this] {
    for (auto& c : children_) ::kill(c->pid, SIGKILL);
  });
  deadline_->arm(std::chrono::duration_cast<std::chrono::milliseconds>(kStopGrace));
  maybe_finish();
}

void Master::maybe_finish() {
  if (phase_ == Phase::running) return;
  bool workers_left = std::any_of(children_.begin(), children_.end(),
                                  [](const auto& c) { return c->id != kAgent; });
  if (phase_ == Phase::quitting && !workers_left) {
    for (auto& g : generations_) {
      if (g->agent.current) {
        g->agent.current->channel.send(Message::make(MessageType::quit, kMaster, kAgent));
        g->agent.current = nullptr;
      }
    }
  }
  if (children_.empty() && upgrade_pid_ == 0) loop_.stop();
}

void Master::start_rotation(Child& agent, const std::string& id) {
  if (rotation_) finish_rotation();  // a new request supersedes an unanswered one
  rotation_ = std::make_unique<Rotation>();
  rotation_->agent = agent.pid;
  rotation_->id = id;
  reopen_logging(config_->log, "master");
  for (auto& c : children_) {
    if (c->id == kAgent) continue;
    rotation_->pending.push_back(c->pid);
    c->channel.send(Message::make(MessageType::reopen, kMaster, c->id, id));
  }
  // A stuck worker must not block rotation forever; its lines still land in the rotated file.
  rotation_->deadline = std::make_unique<Timer>(loop_.timers(), [this] {
    spdlog::warn("log rotation: {} processes did not confirm reopening within 5s",
                 rotation_ ? rotation_->pending.size() : 0);
    finish_rotation();
  });
  rotation_->deadline->arm(std::chrono::seconds(5));
  if (rotation_->pending.empty()) finish_rotation();
}

void Master::rotation_acked(pid_t pid) {
  if (!rotation_) return;
  std::erase(rotation_->pending, pid);
  if (rotation_->pending.empty()) finish_rotation();
}

void Master::finish_rotation() {
  if (!rotation_) return;
  auto r = std::move(rotation_);
  if (Child* agent = find(r->agent))
    agent->channel.send(Message::make(MessageType::rotate_done, kMaster, kAgent, r->id));
  loop_.defer([t = std::shared_ptr<Timer>(std::move(r->deadline))] {});
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
    if (pid == upgrade_pid_) {
      upgrade_pid_ = 0;
      upgrade_failed("the new master " + describe_exit(status));
      maybe_finish();
      continue;
    }
    if (Child* c = find(pid)) on_exit(*c, status);
  }
}

void Master::on_exit(Child& child, int status) {
  Generation& g = *child.gen;
  const int id = child.id;
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  Slot& slot = slot_of(g, id);
  const bool was_current = slot.current == &child;
  const bool was_ready = child.ready;
  const auto lived = loop_.now() - child.started;
  const std::string name = role_name(child);
  if (clean && !was_current)
    spdlog::info("{} (pid {}) {}", name, child.pid, describe_exit(status));
  else
    spdlog::warn("{} (pid {}) {}", name, child.pid, describe_exit(status));
  if (was_current) slot.current = nullptr;
  rotation_acked(child.pid);  // a process that is gone has nothing left to reopen
  reload_worker_stopped(child.pid);
  {
    // Freed after this batch of events: its channel's EOF may be the next event in it.
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const auto& c) { return c.get() == &child; });
    std::shared_ptr<Child> dead(std::move(*it));
    children_.erase(it);
    dead->reader->stop();
    loop_.defer([dead] {});
  }

  if (was_current && phase_ == Phase::running) {
    if (g.state == Generation::State::starting && !was_ready && active()) {
      // A reload whose new processes cannot even start is a failed reload, not a crash loop.
      fail_generation(g, name + " " + describe_exit(status) + " before becoming ready");
    } else if (g.state == Generation::State::starting || g.state == Generation::State::active) {
      if (!(id != kAgent && g.workers_stopped)) schedule_respawn(g, id, lived);
    }
  }
  collect_generations();
  maybe_finish();
}

void Master::schedule_respawn(Generation& g, int id, Clock::duration lived) {
  Slot& slot = slot_of(g, id);
  slot.failures = lived >= kStableLifetime ? 1 : slot.failures + 1;
  std::chrono::milliseconds delay{0};
  if (slot.failures > 1) {
    int shift = std::min(slot.failures - 2, 10);
    delay = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100) * (1 << shift),
                                                kMaxBackoff);
  }
  const std::string name = id == kAgent ? "agent" : "worker #" + std::to_string(id);
  Generation* gen = &g;
  if (!slot.respawn)
    slot.respawn = std::make_unique<Timer>(loop_.timers(), [this, gen, id] {
      if (phase_ == Phase::running &&
          (gen->state == Generation::State::starting || gen->state == Generation::State::active))
        spawn(*gen, id);
    });
  if (delay.count() == 0) {
    spdlog::info("respawning {}", name);
    spawn(g, id);
  } else {
    spdlog::warn("{} is crash-looping ({} failures in a row): respawning in {}ms", name,
                 slot.failures, delay.count());
    slot.respawn->arm(delay);
  }
}

}  // namespace serverd
