#include "process_tree.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

namespace serverd::itest::ps {
namespace {

using Clock = std::chrono::steady_clock;

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  try {
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {  // read() failed: ESRCH, the process just exited
    return {};
  }
}

}  // namespace

std::optional<ProcInfo> proc_info(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::string stat = read_small_file(dir + "/stat");
  // pid (comm) state ppid pgrp session ...; comm may contain spaces and parentheses.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  ProcInfo info;
  info.pid = pid;
  long ppid = 0;
  long pgrp = 0;
  long session = 0;
  if (!(rest >> info.state >> ppid >> pgrp >> session)) return std::nullopt;
  info.ppid = static_cast<pid_t>(ppid);
  info.session = static_cast<pid_t>(session);
  std::string cmdline = read_small_file(dir + "/cmdline");
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  info.title = std::move(cmdline);
  return info;
}

bool process_alive(pid_t pid) {
  const auto info = proc_info(pid);
  return info && info->state != 'Z' && info->state != 'X';
}

std::vector<ProcInfo> children_of(pid_t parent) {
  std::vector<ProcInfo> out;
  std::error_code ec;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    if (++count > 200000) break;
    const std::string name = entry.path().filename().string();
    if (!all_digits(name)) continue;
    const auto info = proc_info(static_cast<pid_t>(std::stol(name)));
    if (!info || info->ppid != parent || info->state == 'Z' || info->state == 'X') continue;
    out.push_back(*info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return out;
}

ServerTree server_tree(pid_t master) {
  ServerTree tree;
  for (const ProcInfo& c : children_of(master)) {
    if (c.title == kAgentTitle)
      tree.agents.push_back(c.pid);
    else if (c.title == kWorkerTitle)
      tree.workers.push_back(c.pid);
    else
      tree.others.push_back(c);
  }
  return tree;
}

std::string ServerTree::describe() const {
  std::ostringstream out;
  out << "agents:";
  for (pid_t p : agents) out << ' ' << p;
  out << "; workers:";
  for (pid_t p : workers) out << ' ' << p;
  out << "; others:";
  for (const auto& o : others) out << ' ' << o.pid << " \"" << o.title << "\" (" << o.state << ')';
  return out.str();
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 1'000'000; ++i) {
    if (done()) return true;
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(step);
  }
  return false;
}

std::optional<pid_t> pid_from_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!in || !(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos && n < 1'000'000;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::vector<std::string> lines_with(std::string_view text, std::string_view needle) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (int i = 0; i < 10'000'000 && start < text.size(); ++i) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.find(needle) != std::string_view::npos) out.emplace_back(line);
    start = end + 1;
  }
  return out;
}

namespace {
std::vector<std::pair<int, pid_t>> started_workers(std::string_view error_log) {
  static const std::regex re(R"(#master: started worker #([0-9]+) \(pid ([0-9]+)\))");
  std::vector<std::pair<int, pid_t>> out;
  for (const std::string& line : lines_with(error_log, "#master: started worker #")) {
    std::smatch m;
    if (std::regex_search(line, m, re))
      out.emplace_back(std::stoi(m[1].str()), static_cast<pid_t>(std::stol(m[2].str())));
  }
  return out;
}
}  // namespace

std::map<int, pid_t> worker_pids_by_slot(std::string_view error_log) {
  std::map<int, pid_t> out;
  for (const auto& [slot, pid] : started_workers(error_log)) out[slot] = pid;
  return out;
}

std::vector<pid_t> worker_pids_started(std::string_view error_log, int slot) {
  std::vector<pid_t> out;
  for (const auto& [s, pid] : started_workers(error_log))
    if (s == slot) out.push_back(pid);
  return out;
}

int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(addr.sin_port);
}

std::set<unsigned long> socket_inodes(pid_t pid) {
  std::set<unsigned long> out;
  std::error_code ec;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/fd";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (++count > 1'000'000) break;
    std::error_code lec;
    const std::string target = std::filesystem::read_symlink(entry.path(), lec).string();
    if (lec || !target.starts_with("socket:[") || target.back() != ']') continue;
    const std::string digits = target.substr(8, target.size() - 9);
    if (all_digits(digits)) out.insert(std::stoul(digits));
  }
  return out;
}

namespace {

// sock_diag (what ss(8) uses): an exact lookup of one TCP socket by its addresses, so the cost
// does not grow with the thousands of TIME_WAIT entries a busy test machine has.
// nullopt: the lookup itself is unavailable; 0: no such socket, or not accepted yet.
std::optional<unsigned long> diag_socket_inode(int server_port, int client_port) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct Request {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.body.sdiag_family = AF_INET;
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = ~0U;
  // The server's side: source = 127.0.0.1:server_port, destination = 127.0.0.1:client_port.
  request.body.id.idiag_sport = htons(static_cast<std::uint16_t>(server_port));
  request.body.id.idiag_dport = htons(static_cast<std::uint16_t>(client_port));
  request.body.id.idiag_src[0] = htonl(INADDR_LOOPBACK);
  request.body.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
  request.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::optional<unsigned long> result;
  if (::sendto(fd, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) == static_cast<ssize_t>(sizeof request)) {
    pollfd pfd{fd, POLLIN, 0};
    alignas(nlmsghdr) char buf[8192];
    if (::poll(&pfd, 1, 500) == 1) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
      if (n >= static_cast<ssize_t>(sizeof(nlmsghdr)) &&
          h->nlmsg_len <= static_cast<std::size_t>(n)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
          const auto* err = reinterpret_cast<const nlmsgerr*>(buf + NLMSG_HDRLEN);
          // ENOENT: no such socket (yet); anything else: the lookup does not work here.
          if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(nlmsgerr) && err->error == -ENOENT) result = 0;
        } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                   h->nlmsg_len >= NLMSG_HDRLEN + sizeof(inet_diag_msg)) {
          const auto* msg = reinterpret_cast<const inet_diag_msg*>(buf + NLMSG_HDRLEN);
          result = msg->idiag_inode;
        }
      }
    }
  }
  ::close(fd);
  return result;
}

// The same from /proc/net/tcp (slow when the table is large).
std::optional<unsigned long> proc_net_tcp_inode(int server_port, int client_port) {
  std::ifstream in("/proc/net/tcp");
  if (!in) return std::nullopt;
  // "local_address rem_address" as the kernel prints them, e.g. "0100007F:1F90 0100007F:C350".
  char needle[48];
  std::snprintf(needle, sizeof needle, "0100007F:%04X 0100007F:%04X",
                static_cast<unsigned>(server_port), static_cast<unsigned>(client_port));
  std::string line;
  std::getline(in, line);  // header
  for (int i = 0; i < 10'000'000 && std::getline(in, line); ++i) {
    if (line.find(needle) == std::string::npos) continue;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    std::istringstream fields(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    if (!(fields >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >>
          inode))
      continue;
    if (!all_digits(inode)) continue;
    const unsigned long value = std::stoul(inode);
    if (value != 0) return value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<unsigned long> accepted_socket_inode(int server_port, int client_port) {
  if (const auto inode = diag_socket_inode(server_port, client_port)) {
    if (*inode == 0) return std::nullopt;
    return inode;
  }
  return proc_net_tcp_inode(server_port, client_port);
}

pid_t connection_owner(int server_port, int client_fd, const std::vector<pid_t>& candidates,
                       std::chrono::milliseconds timeout) {
  const int client_port = local_port(client_fd);
  if (client_port <= 0) return 0;
  std::optional<unsigned long> inode;
  wait_until(
      [&] {
        inode = accepted_socket_inode(server_port, client_port);
        return inode.has_value();
      },
      timeout, std::chrono::milliseconds(2));
  if (!inode) return 0;
  for (pid_t pid : candidates)
    if (socket_inodes(pid).count(*inode) != 0) return pid;
  return 0;
}

const char* to_string(ConnectOutcome o) {
  switch (o) {
    case ConnectOutcome::connected:
      return "connected";
    case ConnectOutcome::refused:
      return "refused";
    case ConnectOutcome::timeout:
      return "timeout";
    case ConnectOutcome::error:
      return "error";
  }
  return "?";
}

ConnectOutcome try_connect(int port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ConnectOutcome::error;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ConnectOutcome outcome = ConnectOutcome::error;
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    outcome = ConnectOutcome::connected;
  } else if (errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) {
      outcome = ConnectOutcome::timeout;
    } else {
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      outcome = err == 0              ? ConnectOutcome::connected
                : err == ECONNREFUSED ? ConnectOutcome::refused
                                      : ConnectOutcome::error;
    }
  } else {
    outcome = errno == ECONNREFUSED ? ConnectOutcome::refused : ConnectOutcome::error;
  }
  ::close(fd);
  return outcome;
}

}  // namespace serverd::itest::ps
