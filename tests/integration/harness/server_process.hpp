#pragma once
// A running `serverd -c CONFIG` (in its own process group, stdout/stderr to files in a
// directory), stopped with TERM, then KILL after a grace period, when the object goes away.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace serverd::itest {

struct StopResult {
  bool exited = false;           // the master was reaped
  int exit_code = -1;            // valid when it exited normally
  int term_signal = 0;           // non-zero when it died of a signal
  bool killed = false;           // TERM was not enough: KILL was sent to the master
  bool group_leftovers = false;  // processes of its group outlived the master (then KILLed)
};

class ServerProcess {
 public:
  // Starts SERVERD_BINARY with `args`; stdout/stderr go to output_dir/{stdout,stderr}.log,
  // and the working directory is output_dir/cwd (created), so files the server writes relative
  // to its cwd instead of its config directory are easy to spot.
  ServerProcess(const std::vector<std::string>& args, const std::filesystem::path& output_dir);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Not yet reaped (a zombie counts as dead: it is reaped here).
  bool alive();
  // Polls (bounded) until 127.0.0.1:port accepts a connection; false when the process exits
  // first or the timeout passes.
  bool wait_for_port(int port, std::chrono::milliseconds timeout);
  // Raw wait status once reaped.
  std::optional<int> wait_status() const { return status_; }
  // Waits (bounded) for the process to exit on its own.
  bool wait_exit(std::chrono::milliseconds timeout);

  void send_signal(int sig) const;
  // TERM, wait up to `grace`, then KILL; then makes sure nothing of its process group is left.
  StopResult stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  void reap(int status);
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
  bool stopped_ = false;
  StopResult stop_result_;
};

}  // namespace serverd::itest
