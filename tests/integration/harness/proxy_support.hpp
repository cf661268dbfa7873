#pragma once
// Helpers for the reverse-proxy integration tests: config snippets (one worker, so balancer and
// pool state are deterministic), worker RSS from /proc, and raw-socket helpers for streams the
// HTTP client does not model (tunnels, slow readers).
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "process_tree.hpp"
#include "test_server.hpp"

namespace serverd::itest::proxy {

// [main] with one worker + [log] at info level into DIR/error.log.
inline std::string prelude(int workers = 1) {
  return "[main]\n"
         "pid_file = \"serverd.pid\"\n"
         "worker_processes = " +
         std::to_string(workers) +
         "\n\n"
         "[log]\n"
         "error_log = \"error.log\"\n"
         "level = \"info\"\n\n";
}

// An [[upstream]] with the given server addresses; `server_options` goes into every server's
// inline table (e.g. "max_fails = 0"), `lines` into the upstream table (e.g. "keepalive = 8").
inline std::string upstream(std::string_view name, std::initializer_list<std::string> addresses,
                            std::string_view lines = "", std::string_view server_options = "") {
  std::string u = "[[upstream]]\nname = \"" + std::string(name) + "\"\n";
  u += lines;
  if (!lines.empty() && lines.back() != '\n') u += "\n";
  u += "servers = [";
  bool first = true;
  for (const auto& a : addresses) {
    u += first ? " " : ", ";
    first = false;
    u += "{ address = \"" + a + "\"";
    if (!server_options.empty()) u += ", " + std::string(server_options);
    u += " }";
  }
  u += " ]\n\n";
  return u;
}

// A location proxying to `pass`, with extra lines (proxy_* keys, match = "exact", ...).
inline std::string location(std::string_view path, std::string_view pass,
                            std::string_view lines = "") {
  std::string l = "  [[server.location]]\n  path = \"" + std::string(path) + "\"\n";
  l += "  proxy_pass = \"" + std::string(pass) + "\"\n";
  if (!lines.empty()) {
    l += "  ";
    l += lines;
    if (lines.back() != '\n') l += "\n";
  }
  return l + "\n";
}

// prelude + upstreams + one server on {PORT} with `server_lines` and `locations`.
inline std::string config(std::string_view upstreams, std::string_view locations,
                          std::string_view server_lines = "", int workers = 1) {
  std::string c = prelude(workers);
  c += upstreams;
  c += "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n";
  c += server_lines;
  if (!server_lines.empty() && server_lines.back() != '\n') c += "\n";
  c += "\n";
  c += locations;
  return c;
}

// Worker pids of a running server (waits, bounded, until `expected` are up).
inline std::vector<pid_t> worker_pids(ServerProcess& process, std::size_t expected = 1) {
  std::vector<pid_t> workers;
  ps::wait_until(
      [&] {
        workers = ps::server_tree(process.pid()).workers;
        return workers.size() >= expected;
      },
      std::chrono::seconds(3));
  return workers;
}

// VmRSS of a process in KiB; 0 when it cannot be read.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  for (int i = 0; i < 200 && std::getline(in, line); ++i) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

inline long total_rss_kib(const std::vector<pid_t>& pids) {
  long sum = 0;
  for (pid_t p : pids) sum += rss_kib(p);
  return sum;
}

// Reads from a raw (non-blocking) socket into `out` until it contains `needle`, the peer
// closes, or the timeout passes. True when `needle` arrived.
inline bool read_until(int fd, std::string& out, std::string_view needle,
                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    if (out.find(needle) != std::string::npos) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[64 * 1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out.find(needle) != std::string::npos;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return false;
}

// Lines of the error log that contain every one of `needles`.
inline std::size_t log_lines_with(const TestServer& server,
                                  std::initializer_list<std::string_view> needles) {
  const std::string log = server.error_log();
  std::size_t count = 0;
  std::size_t start = 0;
  for (int i = 0; i < 1000000 && start < log.size(); ++i) {
    std::size_t eol = log.find('\n', start);
    if (eol == std::string::npos) eol = log.size();
    const std::string_view line(log.data() + start, eol - start);
    bool all = true;
    for (auto n : needles) all = all && line.find(n) != std::string_view::npos;
    count += all ? 1 : 0;
    start = eol + 1;
  }
  return count;
}

}  // namespace serverd::itest::proxy
