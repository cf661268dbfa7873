#pragma once
// A worker's access log state (owned by its WorkerContext): one LogWriter per distinct path,
// the formatted-time cache and the line being built, reused for every request.
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "event/timer.hpp"
#include "modules/access_log/access_log_module.hpp"
#include "modules/access_log/log_format.hpp"
#include "modules/access_log/log_writer.hpp"

namespace serverd {

class AccessLogRuntime {
 public:
  // Opens a writer per path of `config` and binds every access_log block of it to this worker.
  AccessLogRuntime(TimerQueue& timers, const Config& config);
  // Unbinds the blocks; the writers write what they still buffer.
  ~AccessLogRuntime();
  AccessLogRuntime(const AccessLogRuntime&) = delete;
  AccessLogRuntime& operator=(const AccessLogRuntime&) = delete;

  void flush_all();
  void reopen_all();
  const std::vector<std::unique_ptr<LogWriter>>& writers() const { return writers_; }

  TimeCache time;
  std::string line;

 private:
  std::vector<std::unique_ptr<LogWriter>> writers_;
  std::vector<std::shared_ptr<AccessLogBinding>> bound_;
};

// Calls fn(const AccessLogConf&) for every distinct access_log block of the config.
template <typename Fn>
void for_each_access_log_conf(const Config& config, Fn&& fn) {
  std::vector<const AccessLogConf*> seen;
  auto visit = [&](const ModuleConfs& confs) {
    for (const auto& m : confs) {
      const auto* c = dynamic_cast<const AccessLogConf*>(m.get());
      if (!c) continue;
      bool dup = false;
      for (const auto* s : seen) dup = dup || s == c;
      if (dup) continue;
      seen.push_back(c);
      fn(*c);
    }
  };
  visit(config.modules);
  for (const auto& server : config.servers) {
    visit(server.modules);
    for (const auto& loc : server.locations) visit(loc.modules);
  }
}

}  // namespace serverd
