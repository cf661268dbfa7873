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
  if (reloading_ == &g) {
    reload_waiting_.clear();
    for (auto& c : children_)
      if (c->id != kAgent && c->gen != &g && c->gen->state == Generation::State::draining)
        reload_waiting_.push_back(c->pid);
    reload_answer_ = "ok generation " + std::to_string(g.number);
    reload_answer_deadline_ = std::make_unique<Timer>(loop_.timers(), [this] {
      reload_waiting_.clear();
      reload_worker_stopped(0);
    });
    reload_answer_deadline_->arm(std::chrono::seconds(2));
    if (reload_waiting_.empty()) reload_worker_stopped(0);
  }
}

void Master::reload_worker_stopped(pid_t pid) {
  if (reload_answer_.empty()) return;
  std::erase(reload_waiting_, pid);
  if (!reload_waiting_.empty()) return;
  std::string answer = std::move(reload_answer_);
  reload_answer_.clear();
  if (reload_answer_deadline_) {
    loop_.defer([t = std::shared_ptr<Timer>(std::move(reload_answer_deadline_))] {});
  }
  finish_reload(true, answer);
}

void Master::drain(Generation& g) {
  g.state = Generation::State::draining;
  for (auto& s : g.slots) {
    if (s.respawn) s.respawn->cancel();
    s.current = nullptr;
  }
  if (g.agent.respawn) g.agent.respawn->cancel();
  g.agent.current = nullptr;
  spdlog::info("generation {} is draining", g.number);
  send_to(g, MessageType::quit, true, true);
}

void Master::fail_generation(Generation& g, const std::string& why) {
  if (g.state != Generation::State::starting) return;
  g.state = Generation::State::failed;
  g.start_deadline.reset();
  for (auto& s : g.slots) {
    if (s.respawn) s.respawn->cancel();
    s.current = nullptr;
  }
  g.agent.current = nullptr;
  for (auto& c : children_)
    if (c->gen == &g) ::kill(c->pid, SIGTERM);
  spdlog::error("reload failed: {}; still serving with the previous configuration", why);
  if (reloading_ == &g) finish_reload(false, "error " + why);
  collect_generations();
}

void Master::collect_generations() {
  std::erase_if(generations_, [this](const std::unique_ptr<Generation>& g) {
    if (g->state != Generation::State::draining && g->state != Generation::State::failed)
      return false;
    bool has_children = std::any_of(children_.begin(), children_.end(),
                                    [&](const auto& c) { return c->gen == g.get(); });
    if (has_children || reloading_ == g.get()) return false;
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
  if (reloading_) {
    // Reloads requested while one is starting are folded into one more, run right after it.
    reload_queued_ = true;
    if (request) queued_reloads_.push_back(std::move(request));
    return;
  }
  // Requests folded into this reload (see finish_reload) share its outcome.
  auto fail_all = [&](const std::string& text) {
    sd_notify("READY=1");
    if (request) request->reply(text);
    for (auto& r : reload_requests_) r->reply(text);
    reload_requests_.clear();
  };
  sd_notify("RELOADING=1");
  auto result = load_config_file(options_.config_path, modules_);
  build_tls_contexts(result);
  if (!result.config) {
    for (const auto& e : result.errors.items())
      spdlog::error("reload failed: {}", e.to_string());
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
  if (request) reload_requests_.push_back(std::move(request));
  reloading_ = &start_generation(result.config, std::move(listeners));
}

void Master::finish_reload(bool ok, const std::string& text) {
  if (!reloading_) return;
  reloading_ = nullptr;
  for (auto& r : reload_requests_) r->reply(text);
  reload_requests_.clear();
  if (!ok) sd_notify("READY=1");
  if (reload_queued_ && phase_ == Phase::running) {
    reload_queued_ = false;
    auto queued = std::move(queued_reloads_);
    queued_reloads_.clear();
    // Deferred: this may run inside the generation code that just finished.
    loop_.defer([this, queued]() mutable {
      if (queued.empty()) {
        reload(nullptr);
        return;
      }
      RequestPtr first = queued.front();
      for (std::size_t i = 1; i < queued.size(); ++i) reload_requests_.push_back(queued[i]);
      reload(first);
    });
  } else {
    for (auto& r : queued_reloads_) r->reply(text);
    queued_reloads_.clear();
    reload_queued_ = false;
  }
  collect_generations();
}

}  // namespace serverd
