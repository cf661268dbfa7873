#pragma once
// What an operator sees with ps(1) and ss(8), read from /proc: a process's title, parent and
// state; the serverd process tree under a master; which process owns the server side of a TCP
// connection (its inode from sock_diag, as ss(8) does, or /proc/net/tcp -> the process whose
// /proc/PID/fd has socket:[inode]); and small polling helpers.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace serverd::itest::ps {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t session = 0;
  char state = '?';   // R, S, D, Z, T, ...
  std::string title;  // /proc/PID/cmdline, trailing NULs dropped, inner NULs as spaces
};

inline constexpr std::string_view kMasterTitle = "serverd: master process";
inline constexpr std::string_view kAgentTitle = "serverd: agent process";
inline constexpr std::string_view kWorkerTitle = "serverd: worker process";

// nullopt when the process does not exist (or vanished while being read).
std::optional<ProcInfo> proc_info(pid_t pid);
// Exists and is not a zombie.
bool process_alive(pid_t pid);
// Live (non-zombie) children of `parent`, sorted by pid.
std::vector<ProcInfo> children_of(pid_t parent);

// The children of a master, sorted by role (by title).
struct ServerTree {
  std::vector<pid_t> agents;
  std::vector<pid_t> workers;
  std::vector<ProcInfo> others;  // children with any other title
  std::string describe() const;
};
ServerTree server_tree(pid_t master);

// Polls `done` every `step` until it is true or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(10));

// The first line of the pid file as a pid; nullopt when missing or not a number.
std::optional<pid_t> pid_from_file(const std::filesystem::path& path);

// --- error log -----------------------------------------------------------------------------
std::size_t count_occurrences(std::string_view text, std::string_view needle);
// Lines of `text` containing `needle`.
std::vector<std::string> lines_with(std::string_view text, std::string_view needle);
// From the master's "started worker #N (pid P)" lines: the last pid started in each slot.
std::map<int, pid_t> worker_pids_by_slot(std::string_view error_log);
// Every pid the master started in `slot`, in order.
std::vector<pid_t> worker_pids_started(std::string_view error_log, int slot);

// --- TCP connection ownership ----------------------------------------------------------------
// The local port of a connected socket.
int local_port(int fd);
// Socket inodes held open by `pid` (from /proc/PID/fd).
std::set<unsigned long> socket_inodes(pid_t pid);
// The inode of the server side of 127.0.0.1:client_port -> 127.0.0.1:server_port, once a
// process has accepted it (it has no inode until then); nullopt when not found.
std::optional<unsigned long> accepted_socket_inode(int server_port, int client_port);
// Which of `candidates` holds the server side of the connection whose client socket is
// `client_fd`; polls up to `timeout` for the accept to happen. 0 when none does.
pid_t connection_owner(int server_port, int client_fd, const std::vector<pid_t>& candidates,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(200));

// --- connecting ------------------------------------------------------------------------------
enum class ConnectOutcome { connected, refused, timeout, error };
const char* to_string(ConnectOutcome o);
// One non-blocking connect to 127.0.0.1:port, the socket closed afterwards.
ConnectOutcome try_connect(int port, std::chrono::milliseconds timeout);

}  // namespace serverd::itest::ps
