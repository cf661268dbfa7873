#pragma once
// fork/exec helpers: spawn a program in its own process group, and run one to completion
// with its stdout/stderr captured (bounded: killed after the timeout).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace serverd::itest {

struct SpawnOptions {
  std::filesystem::path cwd;  // empty: inherit
  int stdout_fd = -1;         // -1: /dev/null
  int stderr_fd = -1;         // -1: /dev/null
};

// fork + execv(argv[0], argv). The child gets /dev/null as stdin, its own process group
// (pgid == pid) and no descriptors above 2. Throws when fork fails; an exec failure shows up
// as exit code 127.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options);

// waitpid() until `pid` exits or the deadline passes; nullopt on timeout. Returns the raw
// wait status.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

struct CommandResult {
  bool timed_out = false;
  int exit_code = -1;   // valid when the process exited normally
  int term_signal = 0;  // non-zero when killed by a signal
  std::string out;
  std::string err;
  std::string output() const { return out + err; }
};

// Runs argv to completion (killing its process group after `timeout`).
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          const std::filesystem::path& cwd = {});

// "serverd ARGS..." with SERVERD_BINARY.
CommandResult run_serverd(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Processes of the group that are still running (zombies are not counted), from /proc.
std::vector<pid_t> live_group_members(pid_t pgid);

// Children of `pid` (from /proc/PID/task/PID/children); nullopt when unavailable.
std::optional<std::vector<pid_t>> child_pids(pid_t pid);

}  // namespace serverd::itest
