#include "event/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace serverd {

namespace {
[[noreturn]] void fail(const char* what, const SocketAddress& a) {
  int err = errno;
  throw std::system_error(err, std::generic_category(),
                          std::string(what) + "(" + a.to_string() + ")");
}
}  // namespace

UniqueFd open_listener(const SocketAddress& address, const ListenOptions& options) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket", address);
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    fail("setsockopt(SO_REUSEADDR)", address);
  if (options.reuseport && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    fail("setsockopt(SO_REUSEPORT)", address);
  // "[::]:443" means IPv6 only, as in nginx; IPv4 needs its own listen entry.
  if (address.family() == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    fail("setsockopt(IPV6_V6ONLY)", address);
  if (::bind(fd.get(), address.get(), address.length) != 0) fail("bind", address);
  if (::listen(fd.get(), options.backlog) != 0) fail("listen", address);
  return fd;
}

SocketAddress local_address(int fd) {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.length) != 0)
    throw std::system_error(errno, std::generic_category(), "getsockname");
  return a;
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "fcntl(O_NONBLOCK)");
}

void set_cloexec(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) throw std::system_error(errno, std::generic_category(), "fcntl(F_GETFD)");
  flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (::fcntl(fd, F_SETFD, flags) != 0)
    throw std::system_error(errno, std::generic_category(), "fcntl(F_SETFD)");
}

}  // namespace serverd
