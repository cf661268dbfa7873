// Generations and configuration reload.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "core/config_loader.hpp"
#include "core/log.hpp"
#include "http/module.hpp"
#include "process/master.hpp"
#include "process/sd_notify.hpp"
#include "tls/tls_context.hpp"

namespace serverd {

int worker_count_for(const Config& config);

Master::Generation& Master::start_generation(ConfigPtr config, ListenerSet listeners) {
  auto gen = std::make_unique<Generation>();
  gen->number = next_generation_++;
  gen->config = std::move(config);
  gen->worker_count = worker_count_for(*gen->config);
  gen->listeners = std::move(listeners);
  gen->slots.resize(static_cast<std::size_t>(gen->worker_count));
  Generation& g = *gen;
  generations_.push_back(std::move(gen));
  if (active()) {
    // A reload must not hang forever on processes that never become ready.
    g.start_deadline = std::make_unique<Timer>(loop_.timers(), [this, &g] {
      fail_generation(g, "its processes did not become ready within upgrade_timeout");
    });
    g.start_deadline->arm(g.config->main.upgrade_timeout);
  }
  // The agent first: workers may rely on what it prepares (ticket keys, health state).
  spawn(g, kAgent);
  return g;
}

void Master::on_ready(Child& child) {
  Generation& g = *child.gen;
  child.ready = true;
  // A READY that crossed QUIT or TERM on its way (the agent became ready as the master began
  // shutting down): everything is leaving, so start no workers. They would never be told to
  // quit, and the master would wait for them until shutdown_timeout.
  if (phase_ != Phase::running) return;
  if (g.state == Generation::State::starting) {
    // Workers start once the agent is ready: they may rely on what it prepares. A worker slot
    // that already has a process (the agent was replaced while starting) keeps it.
    if (child.id == kAgent) {
      for (int i = 0; i < g.worker_count; ++i)
        if (!g.slots[static_cast<std::size_t>(i)].current) spawn(g, i);
    }
    check_ready(g);
  } else if (g.state == Generation::State::active) {
    spdlog::info("{} (pid {}) is ready", role_name(child), child.pid);
    child.channel.send(Message::make(MessageType::all_ready, kMaster, child.id));
    // The agent brings a replacement worker up to date (health state).
    if (child.id != kAgent && g.agent.current)
      g.agent.current->channel.send(
          Message::make(MessageType::worker_ready, kMaster, kAgent, std::to_string(child.id)));
  }
}

void Master::check_ready(Generation& g) {
  if (g.state != Generation::State::starting) return;
  if (!g.agent.current || !g.agent.current->ready) return;
  for (auto& s : g.slots)
    if (!s.current || !s.current->ready) return;
  activate(g);
}

void Master::activate(Generation& g) {
  Generation* previous = active();
  g.state = Generation::State::active;
  g.start_deadline.reset();
  config_ = g.config;
  if (previous) {
    // The master's own log follows the new configuration too.
    try {
      init_logging(config_->log, "master");
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
    for (auto& old : generations_)
      if (old.get() != &g && old->state == Generation::State::active) drain(*old);
    spdlog::info("reload complete: generation {} is serving with {} workers", g.number,
                 g.worker_count);
  } else {
    spdlog::info("serverd ready: 1 agent and {} workers serving", g.worker_count);
    notify_old_master();
  }
  send_to(g, MessageType::all_ready, true, true);
  sd_notify("READY=1");
  // Too many generations draining at once (a reload storm): close the oldest now.
  const auto max_draining = static_cast<std::size_t>(g.config->main.max_draining_generations);
  std::size_t draining = 0;
  for (auto& x : generations_) draining += x->state == Generation::State::draining;
  for (auto& x : generations_) {
    if (draining <= max_draining) break;
    if (x->state != Generation::State::draining) continue;
    spdlog::warn("more than {} generations draining: stopping generation {} now", max_draining,
                 x->number);
    send_to(*x, MessageType::terminate, true, true);
    x->state = Generation::State::failed;
    --draining;
  }
  if (reload_.generation == &g) answer_reload_after_old_workers(g);
}

void Master::answer_reload_after_old_workers(Generation& g) {
  reload_.waiting.clear();
  for (auto& c : children_)
    if (c->id != kAgent && c->gen != &g && c->gen->state == Generation::State::draining)
      reload_.waiting.push_back(c->pid);
  reload_.answer = "ok generation " + std::to_string(g.number);
  reload_.answer_deadline = std::make_unique<Timer>(loop_.timers(), [this] {
    reload_.waiting.clear();
    reload_worker_stopped(0);
  });
  reload_.answer_deadline->arm(std::chrono::seconds(2));
  if (reload_.waiting.empty()) reload_worker_stopped(0);
}

void Master::reload_worker_stopped(pid_t pid) {
  if (reload_.answer.empty()) return;
  std::erase(reload_.waiting, pid);
  if (!reload_.waiting.empty()) return;
  std::string answer = std::move(reload_.answer);
  reload_.answer.clear();
  if (reload_.answer_deadline) {
    loop_.defer([t = std::shared_ptr<Timer>(std::move(reload_.answer_deadline))] {});
  }
  finish_reload(true, answer);
}

void Master::drain(Generation& g) {
  g.state = Generation::State::draining;
  g.release_workers();
  g.agent.release();
  spdlog::info("generation {} is draining", g.number);
  send_to(g, MessageType::quit, true, true);
}

void Master::fail_generation(Generation& g, const std::string& why) {
  if (g.state != Generation::State::starting) return;
  g.state = Generation::State::failed;
  g.start_deadline.reset();
  g.release_workers();
  g.agent.release();
  for (auto& c : children_)
    if (c->gen == &g) ::kill(c->pid, SIGTERM);
  spdlog::error("reload failed: {}; still serving with the previous configuration", why);
  if (reload_.generation == &g) finish_reload(false, "error " + why);
  collect_generations();
}

void Master::collect_generations() {
  std::erase_if(generations_, [this](const std::unique_ptr<Generation>& g) {
    if (g->state != Generation::State::draining && g->state != Generation::State::failed)
      return false;
    bool has_children = std::any_of(children_.begin(), children_.end(),
                                    [&](const auto& c) { return c->gen == g.get(); });
    if (has_children || reload_.generation == g.get()) return false;
    if (g->state == Generation::State::draining)
      spdlog::info("generation {} has drained", g->number);
    return true;  // its listening sockets nobody else uses close here
  });
}

void Master::on_command(const std::string& command, RequestPtr request) {
  if (command == "reload") {
    spdlog::info("reload requested on the control socket");
    reload(std::move(request));
  } else if (command == "upgrade") {
    spdlog::info("binary upgrade requested on the control socket");
    upgrade(std::move(request));
  } else {
    request->reply("error unknown command \"" + command + "\"");
  }
}

void Master::reload(RequestPtr request) {
  if (phase_ != Phase::running) {
    if (request) request->reply("error serverd is shutting down");
    return;
  }
  if (reload_.generation) {
    // Reloads requested while one is starting are folded into one more, run right after it.
    reload_.queued = true;
    if (request) reload_.queued_requests.push_back(std::move(request));
    return;
  }
  // Requests folded into this reload (see finish_reload) share its outcome.
  auto fail_all = [&](const std::string& text) {
    sd_notify("READY=1");
    if (request) request->reply(text);
    for (auto& r : reload_.requests) r->reply(text);
    reload_.requests.clear();
  };
  sd_notify("RELOADING=1");
  auto result = load_config_file(options_.config_path, modules_);
  build_tls_contexts(result);
  if (!result.config) {
    for (const auto& e : result.errors.items()) spdlog::error("reload failed: {}", e.to_string());
    spdlog::error("reload failed: still serving with the previous configuration");
    fail_all("error " + result.errors.to_string());
    return;
  }
  if (result.config->main.pid_file != config_->main.pid_file)
    spdlog::warn("reload: a new pid_file takes effect only after a restart");
  std::vector<ListenSocketPtr> open;
  for (auto& g : generations_)
    for (const auto& s : g->listeners.sockets()) open.push_back(s);
  ListenerSet listeners;
  try {
    listeners = ListenerSet::build(*result.config, worker_count_for(*result.config), open);
  } catch (const std::exception& e) {
    spdlog::error("reload failed: {}; still serving with the previous configuration", e.what());
    fail_all(std::string("error ") + e.what());
    return;
  }
  if (request) reload_.requests.push_back(std::move(request));
  reload_.generation = &start_generation(result.config, std::move(listeners));
}

void Master::finish_reload(bool ok, const std::string& text) {
  if (!reload_.generation) return;
  reload_.generation = nullptr;
  for (auto& r : reload_.requests) r->reply(text);
  reload_.requests.clear();
  if (!ok) sd_notify("READY=1");
  if (reload_.queued && phase_ == Phase::running) {
    reload_.queued = false;
    auto queued = std::move(reload_.queued_requests);
    reload_.queued_requests.clear();
    // Deferred: this may run inside the generation code that just finished.
    loop_.defer([this, queued]() mutable {
      if (queued.empty()) {
        reload(nullptr);
        return;
      }
      RequestPtr first = queued.front();
      for (std::size_t i = 1; i < queued.size(); ++i) reload_.requests.push_back(queued[i]);
      reload(first);
    });
  } else {
    for (auto& r : reload_.queued_requests) r->reply(text);
    reload_.queued_requests.clear();
    reload_.queued = false;
  }
  collect_generations();
}

}  // namespace serverd
