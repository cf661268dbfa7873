#pragma once
// Listen addresses: "127.0.0.1:8080", "[::1]:8080", "[::]:443", "*:80", "8080" (all IPv4
// interfaces), "localhost:8080" (resolved to 127.0.0.1 only: no DNS at config time).
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace serverd {

// Only IP addresses are stored: 28 bytes instead of sockaddr_storage's 128 (two of them live
// in every connection, idle ones included).
union SockaddrIp {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

struct SocketAddress {
  SockaddrIp storage{};
  socklen_t length = 0;

  int family() const { return storage.sa.sa_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int port() const;
  // "127.0.0.1:8080" / "[::1]:8080"
  std::string to_string() const;
  // Host part only: "127.0.0.1" / "::1"
  std::string host_string() const;
  bool operator==(const SocketAddress& other) const;

  static SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);
};

// nullopt (and a reason in *error) when the text is not a valid host:port.
std::optional<SocketAddress> parse_listen_address(std::string_view text, std::string* error);

}  // namespace serverd
