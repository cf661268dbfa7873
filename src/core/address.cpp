#include "core/address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace serverd {
namespace {

const sockaddr_in& as_v4(const SockaddrIp& s) {
  return *reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6& as_v6(const SockaddrIp& s) {
  return *reinterpret_cast<const sockaddr_in6*>(&s);
}

bool fail(std::string* error, std::string reason) {
  if (error) *error = std::move(reason);
  return false;
}

bool parse_port(std::string_view text, int* port, std::string* error) {
  if (text.empty()) return fail(error, "missing port");
  long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(error, "port must be a number 1..65535");
    value = value * 10 + (c - '0');
    if (value > 65535) return fail(error, "port must be 1..65535");
  }
  if (value == 0) return fail(error, "port must be 1..65535");
  *port = static_cast<int>(value);
  return true;
}

SocketAddress make_v4(const in_addr& addr, int port) {
  SocketAddress out;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<std::uint16_t>(port));
  sin->sin_addr = addr;
  out.length = sizeof(sockaddr_in);
  return out;
}

SocketAddress make_v6(const in6_addr& addr, int port) {
  SocketAddress out;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<std::uint16_t>(port));
  sin6->sin6_addr = addr;
  out.length = sizeof(sockaddr_in6);
  return out;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

int SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(as_v4(storage).sin_port);
  if (family() == AF_INET6) return ntohs(as_v6(storage).sin6_port);
  return 0;
}

std::string SocketAddress::host_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &as_v4(storage).sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &as_v6(storage).sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  const std::string port_text = std::to_string(port());
  if (family() == AF_INET6) return '[' + host_string() + "]:" + port_text;
  if (family() == AF_INET) return host_string() + ':' + port_text;
  return "(unknown address)";
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    const auto &a = as_v4(storage), &b = as_v4(other.storage);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    const auto &a = as_v6(storage), &b = as_v6(other.storage);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0 &&
           a.sin6_scope_id == b.sin6_scope_id;
  }
  return length == other.length && std::memcmp(&storage, &other.storage, length) == 0;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  if (sa == nullptr) return out;
  if (len > sizeof(out.storage)) len = sizeof(out.storage);
  std::memcpy(&out.storage, sa, len);
  out.length = len;
  return out;
}

std::optional<SocketAddress> parse_listen_address(std::string_view text, std::string* error) {
  if (text.empty()) {
    fail(error, "empty address");
    return std::nullopt;
  }
  int port = 0;
  if (all_digits(text)) {  // "8080": every IPv4 interface, as nginx's `listen 8080`
    if (!parse_port(text, &port, error)) return std::nullopt;
    in_addr any{};
    any.s_addr = htonl(INADDR_ANY);
    return make_v4(any, port);
  }
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      fail(error, "missing \"]\" after the IPv6 address");
      return std::nullopt;
    }
    const std::string host(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      fail(error, rest.empty() ? "missing port" : "expected \":\" and a port after \"]\"");
      return std::nullopt;
    }
    in6_addr addr{};
    if (inet_pton(AF_INET6, host.c_str(), &addr) != 1) {
      fail(error, "invalid IPv6 address \"" + host + "\"");
      return std::nullopt;
    }
    if (!parse_port(rest.substr(1), &port, error)) return std::nullopt;
    return make_v6(addr, port);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    fail(error, "missing port (expected host:port)");
    return std::nullopt;
  }
  const std::string host(text.substr(0, colon));
  if (host.find(':') != std::string::npos) {
    fail(error, "IPv6 addresses must be in brackets, e.g. \"[::1]:8080\"");
    return std::nullopt;
  }
  in_addr addr{};
  if (host == "*") {
    addr.s_addr = htonl(INADDR_ANY);
  } else if (host == "localhost") {
    // Never resolved through DNS or /etc/hosts: config loading must not block or vary.
    addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (host.empty()) {
    fail(error, "missing host before \":\"");
    return std::nullopt;
  } else if (inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    fail(error, "host must be an IP address, \"*\" or \"localhost\"");
    return std::nullopt;
  }
  if (!parse_port(text.substr(colon + 1), &port, error)) return std::nullopt;
  return make_v4(addr, port);
}

}  // namespace serverd
