#pragma once
// The master process. It binds the listeners, starts a *generation* (an agent, then the
// workers, each answering READY), and supervises it: children that die are replaced, with an
// exponential backoff when one crash-loops. It serves no requests itself.
//
// Reload (HUP or `serverd -s reload`): the new config is loaded and validated in full; if it
// is bad nothing changes. Otherwise a new generation starts on the same listening sockets and,
// once all of it is READY, the old generation drains. Binary upgrade (USR2 / `-s upgrade`):
// the master execs its binary with the listening sockets inherited; when the new master is
// READY this one drains and exits, otherwise it is killed and this master keeps serving.
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "event/loop.hpp"
#include "process/channel.hpp"
#include "process/channel_reader.hpp"
#include "process/control.hpp"
#include "process/listeners.hpp"
#include "tls/ticket_keys.hpp"

namespace serverd {

class ModuleList;
class PidFile;
class ProcessTitle;

struct MasterOptions {
  std::string config_path;
  std::vector<std::string> args;  // the command line, for re-executing on upgrade
  ProcessTitle* title = nullptr;
};

class Master {
 public:
  Master(ConfigPtr config, const ModuleList& modules, MasterOptions options);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Runs until the server is shut down; returns the exit code. Throws on start-up failures
  // (binding, pid file, logs), before any child has been started.
  int run();

 private:
  struct Generation;
  struct Child {
    pid_t pid = 0;
    int id = kAgent;  // worker slot (>= 0) or kAgent
    Generation* gen = nullptr;
    Channel channel;
    std::unique_ptr<ChannelReader> reader;
    Clock::time_point started{};
    bool ready = false;
  };
  struct Slot {
    Child* current = nullptr;
    int failures = 0;
    std::unique_ptr<Timer> respawn;
    // Stops supervising the slot: no pending respawn fires, and its process (left to drain or
    // to be stopped) no longer counts as the slot's current one.
    void release() {
      if (respawn) respawn->cancel();
      current = nullptr;
    }
  };
  struct Generation {
    int number = 0;
    ConfigPtr config;
    int worker_count = 1;
    ListenerSet listeners;
    std::vector<Slot> slots;
    Slot agent;
    enum class State { starting, active, draining, failed } state = State::starting;
    bool workers_stopped = false;  // WINCH
    std::unique_ptr<Timer> start_deadline;
    void release_workers() {
      for (auto& s : slots) s.release();
    }
  };
  using RequestPtr = std::shared_ptr<ControlServer::Request>;
  enum class Phase { running, quitting, stopping };

  // master.cpp: children and supervision
  std::string role_name(const Child& c) const;
  Slot& slot_of(Generation& g, int id);
  void spawn(Generation& g, int id);
  void on_message(Child& child, const Message& m);
  void relay(Generation& g, const Message& m);
  void on_signal(int signo);
  void reap();
  void on_exit(Child& child, int status);
  void schedule_respawn(Generation& g, int id, Clock::duration lived);
  void send_to(Generation& g, MessageType type, bool workers, bool agent);
  void begin_quit();
  void begin_stop();
  void maybe_finish();
  Child* find(pid_t pid);
  Generation* active();

  // master_reload.cpp: generations
  Generation& start_generation(ConfigPtr config, ListenerSet listeners);
  void on_ready(Child& child);
  void check_ready(Generation& g);
  void activate(Generation& g);
  void drain(Generation& g);
  void fail_generation(Generation& g, const std::string& why);
  void collect_generations();
  void reload(RequestPtr request);
  void finish_reload(bool ok, const std::string& text);
  void answer_reload_after_old_workers(Generation& g);
  void reload_worker_stopped(pid_t pid);
  void on_command(const std::string& command, RequestPtr request);

  // Log rotation handshake (requested by an agent).
  void start_rotation(Child& agent, const std::string& id);
  void rotation_acked(pid_t pid);
  void finish_rotation();

  // master_upgrade.cpp: binary upgrade
  void upgrade(RequestPtr request);
  void on_upgrade_message(const Message& m);
  void upgrade_failed(const std::string& why);
  void notify_old_master();
  void retire_upgrade_reader();

  void add_ticket_key(std::string_view payload);

  ConfigPtr config_;  // of the active generation
  // TLS session-ticket keys: created here at start, kept across reloads, rotated by the agent;
  // every worker gets the current set (at fork and after each rotation).
  TicketKeys ticket_keys_;
  const ModuleList& modules_;
  MasterOptions options_;
  std::filesystem::path exe_path_;
  EventLoop loop_;
  std::unique_ptr<PidFile> pid_file_;
  std::unique_ptr<ControlServer> control_;
  std::vector<std::unique_ptr<Generation>> generations_;
  std::vector<std::unique_ptr<Child>> children_;
  int next_generation_ = 1;
  Phase phase_ = Phase::running;
  std::unique_ptr<Timer> deadline_;

  // The reload in progress (at most one runs; more requests are folded into one after it).
  struct Reload {
    Generation* generation = nullptr;  // the starting generation; null when none runs
    std::vector<RequestPtr> requests;  // answered with its outcome
    bool queued = false;               // another reload was asked for meanwhile
    std::vector<RequestPtr> queued_requests;
    // A reload is answered once every old worker has stopped accepting (or is gone), so a
    // connection made right after `-s reload` returns can only reach the new generation.
    std::vector<pid_t> waiting;
    std::string answer;  // set while waiting
    std::unique_ptr<Timer> answer_deadline;
  };
  Reload reload_;

  struct Rotation {
    pid_t agent = 0;
    std::string id;
    std::vector<pid_t> pending;
    std::unique_ptr<Timer> deadline;
  };
  std::unique_ptr<Rotation> rotation_;

  pid_t upgrade_pid_ = 0;
  Channel upgrade_channel_;  // to the new master we started
  std::unique_ptr<ChannelReader> upgrade_reader_;
  std::unique_ptr<Timer> upgrade_timer_;
  std::vector<RequestPtr> upgrade_requests_;
  Channel parent_channel_;                  // to the old master that started us (if any)
  std::vector<ListenSocketPtr> inherited_;  // sockets handed over by the old master
};

}  // namespace serverd
