#include "process/listen_check.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "core/unique_fd.hpp"
#include "process/pid_file.hpp"

namespace serverd {
namespace {

// Binds as the master would (SO_REUSEADDR, v6only) but without SO_REUSEPORT, so that any
// listener on the address, reuseport or not, makes it fail. True when the address is in use.
bool in_use(const SocketAddress& address) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.family() == AF_INET6)
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // Other bind failures (a privileged port checked by a normal user) are not what -t judges.
  return ::bind(fd.get(), address.get(), address.length) != 0 && errno == EADDRINUSE;
}

// The address as /proc/net/tcp{,6} prints a local address: the raw 32-bit words of the IP in
// native byte order, "%08X" each, then ":" and the port "%04X".
std::string proc_net_address(const SocketAddress& address) {
  std::string out;
  const sockaddr* sa = address.get();
  if (sa->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    out = fmt::format("{:08X}", v4->sin_addr.s_addr);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    for (int i = 0; i < 4; ++i) {
      std::uint32_t word;
      std::memcpy(&word, &v6->sin6_addr.s6_addr[i * 4], sizeof word);
      out += fmt::format("{:08X}", word);
    }
  }
  return out + fmt::format(":{:04X}", address.port());
}

// Whether a socket listening on `local` (as /proc/net/tcp prints it) keeps `wanted` from being
// bound: the same port on the same address, or either of them the wildcard address.
bool overlaps(std::string_view local, std::string_view wanted) {
  const auto colon = local.rfind(':');
  if (colon == std::string_view::npos || wanted.rfind(':') != colon) return false;
  if (local.substr(colon) != wanted.substr(colon)) return false;  // another port
  const auto any = [](std::string_view ip) { return ip.find_first_not_of('0') == ip.npos; };
  const std::string_view a = local.substr(0, colon);
  const std::string_view b = wanted.substr(0, colon);
  return a == b || any(a) || any(b);
}

// Inodes of the sockets listening where `address` would be bound.
std::set<std::string> listening_inodes(const SocketAddress& address) {
  std::set<std::string> inodes;
  std::ifstream in(address.family() == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6");
  const std::string wanted = proc_net_address(address);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state == "0A" && overlaps(local, wanted)) inodes.insert(inode);  // 0A = LISTEN
  }
  return inodes;
}

// Socket inodes the process holds open ("socket:[123]" links in /proc/PID/fd).
std::set<std::string> socket_inodes_of(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (!link_ec && target.starts_with("socket:[") && target.ends_with("]"))
      inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

}  // namespace

ErrorList check_listen_addresses(const Config& config) {
  ErrorList errors;
  std::set<std::string> checked;
  std::optional<std::set<std::string>> master_sockets;  // read once, when first needed
  for (const ServerConfig& server : config.servers) {
    for (const ListenConfig& listen : server.listen) {
      const std::string text = listen.address.to_string();
      if (!checked.insert(text).second || !in_use(listen.address)) continue;
      if (!master_sockets) {
        std::string ignored;
        auto pid = read_pid_file(config.main.pid_file, &ignored);
        master_sockets = pid ? socket_inodes_of(*pid) : std::set<std::string>{};
      }
      // In use by the running master alone (e.g. the package's config checked while a copy on
      // 127.0.0.1 of the same port runs): not another process's.
      const auto holders = listening_inodes(listen.address);
      bool ours = !holders.empty();
      for (const auto& inode : holders) ours = ours && master_sockets->count(inode) != 0;
      if (!ours) errors.add(listen.pos, "listen address " + text + " is already in use");
    }
  }
  return errors;
}

}  // namespace serverd
