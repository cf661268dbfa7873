#pragma once
// The listening sockets, bound by the master only (ports below 1024 work before privileges are
// dropped) and inherited by workers. A shared socket is accepted on by every worker with
// EPOLLEXCLUSIVE; a `reuseport` address gets one SO_REUSEPORT socket per worker slot, and a
// slot's replacement gets the same socket, so no accept queue is ever dropped.
#include <vector>

#include "core/address.hpp"
#include "core/config.hpp"
#include "core/unique_fd.hpp"

namespace serverd {

struct WorkerListener {
  int fd;
  SocketAddress address;
  bool exclusive;  // shared socket: register with EPOLLEXCLUSIVE
};

class ListenerSet {
 public:
  // Throws std::system_error naming the address that could not be bound.
  ListenerSet(const Config& config, int worker_slots);
  // The sockets a worker in `slot` accepts on.
  std::vector<WorkerListener> for_slot(int slot) const;
  // Every descriptor (a child keeps only those it uses).
  std::vector<int> all_fds() const;
  std::vector<SocketAddress> addresses() const;

 private:
  struct Entry {
    SocketAddress address;
    bool reuseport;
    std::vector<UniqueFd> fds;  // one shared, or one per slot
  };
  std::vector<Entry> entries_;
};

}  // namespace serverd
