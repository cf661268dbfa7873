#pragma once
#include "core/address.hpp"
#include "core/unique_fd.hpp"

namespace serverd {

struct ListenOptions {
  int backlog = 511;
  bool reuseport = false;
};

// A bound, listening, non-blocking, close-on-exec TCP socket. Throws std::system_error with the
// address in the message ("bind(127.0.0.1:80): Permission denied").
UniqueFd open_listener(const SocketAddress& address, const ListenOptions& options);

// The address a socket is bound to (getsockname).
SocketAddress local_address(int fd);

void set_nonblocking(int fd);
void set_cloexec(int fd, bool on);

}  // namespace serverd
