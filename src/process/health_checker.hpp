#pragma once
// Active health checks, run by the agent: one prober for the whole server instead of one per
// worker. Each server of an [[upstream]] with a health_check gets a GET of `path` every
// `interval`; `fall` failures in a row take it down, `rise` successes bring it back. A change
// is logged once and broadcast to every worker, which then stops (or resumes) picking it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "event/loop.hpp"

namespace serverd {

class HealthChecker {
 public:
  // `broadcast` sends a health message to every worker; `payload` lines are
  // "<upstream> <server index> up|down".
  using Broadcast = std::function<void(const std::string& payload)>;
  HealthChecker(EventLoop& loop, const Config& config, Broadcast broadcast);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Every server currently down, as a payload for a worker that just started ("" if none).
  std::string down_state() const;
  std::size_t targets() const { return targets_.size(); }

 private:
  class Target;
  void on_result(Target& t, bool ok, const std::string& detail);

  EventLoop& loop_;
  Broadcast broadcast_;
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace serverd
