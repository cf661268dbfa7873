#pragma once
// Idle upstream connections kept for reuse, per worker and upstream group. An idle connection
// the upstream closes (or writes garbage to) is dropped as soon as epoll reports it, and
// checked again with a non-blocking peek when taken, so a dead one is never handed out.
#include <cstddef>
#include <list>
#include <memory>

#include "event/loop.hpp"
#include "upstream/upstream_connection.hpp"

namespace serverd {

using UpstreamConnectionPtr = std::shared_ptr<UpstreamConnection>;

class KeepalivePool {
 public:
  KeepalivePool(EventLoop& loop, std::size_t max_idle, std::chrono::milliseconds idle_timeout);
  ~KeepalivePool();
  KeepalivePool(const KeepalivePool&) = delete;
  KeepalivePool& operator=(const KeepalivePool&) = delete;

  // Keeps `connection` for reuse; the oldest idle one goes when full.
  void put(UpstreamConnectionPtr connection);
  // The most recently used live idle connection to `peer`, or null.
  UpstreamConnectionPtr take(std::size_t peer);
  std::size_t size() const { return idle_.size(); }
  std::size_t max_idle() const { return max_idle_; }

 private:
  class Idle;
  void drop(Idle* idle);

  EventLoop& loop_;
  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::list<std::unique_ptr<Idle>> idle_;  // most recent first
};

// Closes a connection and frees it after the current batch of events (one of which may still
// name it).
void retire_connection(EventLoop& loop, UpstreamConnectionPtr connection);

}  // namespace serverd
