#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace serverd {

class EventLoop;
class Module;

// What a module's init_worker/exit_worker hooks get, and where per-worker module state (the
// proxy's upstream groups and connection pools) lives for the worker's lifetime.
class WorkerContext {
 public:
  WorkerContext(EventLoop& loop, const Config& config, int slot)
      : loop_(loop), config_(config), slot_(slot) {}
  EventLoop& loop() const { return loop_; }
  const Config& config() const { return config_; }
  int slot() const { return slot_; }

  void set_state(const Module* module, std::shared_ptr<void> state) {
    for (auto& [m, s] : states_)
      if (m == module) {
        s = std::move(state);
        return;
      }
    states_.emplace_back(module, std::move(state));
  }
  template <typename T>
  T* state(const Module* module) const {
    for (const auto& [m, s] : states_)
      if (m == module) return static_cast<T*>(s.get());
    return nullptr;
  }
  // Drops every module's state (before the loop it refers to goes away).
  void clear_states() { states_.clear(); }

 private:
  EventLoop& loop_;
  const Config& config_;
  int slot_;
  std::vector<std::pair<const Module*, std::shared_ptr<void>>> states_;
};

}  // namespace serverd
