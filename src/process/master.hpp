#pragma once
// The master process: binds the listeners, starts the agent (and waits for its READY), then the
// workers (and waits for every READY), announces READY, relays messages between children,
// replaces children that die (backing off when one crash-loops) and turns signals into
// shutdowns, log reopening and worker stops. It serves no requests itself.
#include <sys/types.h>

#include <memory>
#include <optional>
#include <vector>

#include "core/config.hpp"
#include "event/loop.hpp"
#include "process/channel.hpp"
#include "process/channel_reader.hpp"
#include "process/listeners.hpp"

namespace serverd {

class ModuleList;
class ProcessTitle;

class Master {
 public:
  Master(ConfigPtr config, const ModuleList& modules, ProcessTitle* title);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Runs until the server is shut down; returns the exit code. Throws on start-up failures
  // (binding, pid file, logs), before anything has been started.
  int run();

 private:
  struct Child {
    pid_t pid = 0;
    int id = kAgent;  // worker slot (>= 0) or kAgent
    Channel channel;
    std::unique_ptr<ChannelReader> reader;
    Clock::time_point started{};
    bool ready = false;
  };
  struct Slot {
    Child* current = nullptr;
    int failures = 0;
    std::unique_ptr<Timer> respawn;
  };
  enum class Phase { starting, running, workers_stopped, quitting, stopping };

  std::string role_name(int id) const;
  Slot& slot_of(int id) { return id == kAgent ? agent_slot_ : slots_[static_cast<std::size_t>(id)]; }
  void spawn(int id);
  void on_message(Child& child, const Message& m);
  void relay(const Message& m);
  void on_signal(int signo);
  void reap();
  void on_exit(Child& child, int status);
  void schedule_respawn(int id, Clock::duration lived);
  void check_all_ready();
  void send_to_workers(MessageType type);
  void begin_quit();
  void begin_stop();
  void stop_workers();
  void maybe_finish();
  Child* find(pid_t pid);

  ConfigPtr config_;
  const ModuleList& modules_;
  ProcessTitle* title_;
  int worker_count_ = 1;
  std::unique_ptr<ListenerSet> listeners_;
  EventLoop loop_;
  std::vector<std::unique_ptr<Child>> children_;
  std::vector<Slot> slots_;
  Slot agent_slot_;
  Phase phase_ = Phase::starting;
  std::unique_ptr<Timer> deadline_;
};

}  // namespace serverd
