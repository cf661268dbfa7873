#pragma once
// The listening sockets, bound by the master only (ports below 1024 work before privileges are
// dropped) and inherited by workers. A shared socket is accepted on by every worker with
// EPOLLEXCLUSIVE; a `reuseport` address gets one SO_REUSEPORT socket per worker slot.
//
// Sockets are shared between generations: a reload or a binary upgrade hands the very same
// socket (same address, same slot) to the new workers, so no accept queue is ever dropped.
// A socket closes only when the last generation using it has gone.
#include <memory>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/config.hpp"
#include "core/unique_fd.hpp"

namespace serverd {

struct ListenSocket {
  SocketAddress address;
  bool reuseport = false;
  int slot = -1;  // the worker slot of a reuseport socket; -1 for a shared one
  int backlog = 511;
  UniqueFd fd;
};
using ListenSocketPtr = std::shared_ptr<ListenSocket>;

struct WorkerListener {
  int fd;
  SocketAddress address;
  bool exclusive;  // shared socket: register with EPOLLEXCLUSIVE
};

class ListenerSet {
 public:
  ListenerSet() = default;
  // The sockets `config` needs with `worker_slots` workers: taken from `reuse` where the same
  // address (and slot) is already open, bound now otherwise. Throws std::system_error naming
  // the address that could not be bound.
  static ListenerSet build(const Config& config, int worker_slots,
                           const std::vector<ListenSocketPtr>& reuse);

  // The sockets a worker in `slot` accepts on.
  std::vector<WorkerListener> for_slot(int slot) const;
  std::vector<int> all_fds() const;
  const std::vector<ListenSocketPtr>& sockets() const { return sockets_; }
  std::vector<SocketAddress> addresses() const;

  // Binary upgrade: "fd,reuseport,slot,backlog,address;..." for the environment of the new
  // binary, and the reverse (taking ownership of the descriptors).
  std::string to_environment() const;
  static std::vector<ListenSocketPtr> from_environment(const std::string& text);

 private:
  std::vector<ListenSocketPtr> sockets_;
};

}  // namespace serverd
