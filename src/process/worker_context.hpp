#pragma once
#include "core/config.hpp"

namespace serverd {

class EventLoop;

// What a module's init_worker/exit_worker hooks get: the worker's loop and config.
class WorkerContext {
 public:
  WorkerContext(EventLoop& loop, const Config& config, int slot)
      : loop_(loop), config_(config), slot_(slot) {}
  EventLoop& loop() const { return loop_; }
  const Config& config() const { return config_; }
  int slot() const { return slot_; }

 private:
  EventLoop& loop_;
  const Config& config_;
  int slot_;
};

}  // namespace serverd
