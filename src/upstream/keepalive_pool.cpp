#include "upstream/keepalive_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace serverd {

void retire_connection(EventLoop& loop, UpstreamConnectionPtr connection) {
  if (!connection) return;
  connection->close();
  loop.defer([connection] {});
}

class KeepalivePool::Idle final : public EventHandler {
 public:
  Idle(KeepalivePool& pool, UpstreamConnectionPtr c)
      : pool_(pool),
        conn_(std::move(c)),
        timer_(pool.loop_.timers(), [this] { pool_.drop(this); }) {
    conn_->set_delegate(this);
  }
  void on_event(std::uint32_t events) override {
    if (dead_) return;
    // Edge-triggered with EPOLLOUT in the mask: a pure "writable" edge is harmless. Anything
    // readable (EOF, a reset, stray bytes) on an idle connection ends it.
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    pool_.drop(this);
  }
  KeepalivePool& pool_;
  UpstreamConnectionPtr conn_;
  Timer timer_;
  Clock::time_point since_{};
  bool dead_ = false;
  std::list<std::unique_ptr<Idle>>::iterator self_;
};

namespace {
// A connection idle for less than this is handed out without a peek: a close by the upstream
// that epoll has not reported yet is rare that soon, and the proxy retries such a request on a
// fresh connection anyway. Longer idle connections are checked (one recv) before reuse.
constexpr auto kPeekAfter = std::chrono::seconds(1);
}  // namespace

KeepalivePool::KeepalivePool(EventLoop& loop, std::size_t max_idle,
                             std::chrono::milliseconds idle_timeout)
    : loop_(loop), max_idle_(max_idle), idle_timeout_(idle_timeout) {}

KeepalivePool::~KeepalivePool() {
  for (auto& i : idle_) i->conn_->close();
}

void KeepalivePool::put(UpstreamConnectionPtr connection) {
  if (max_idle_ == 0) {
    retire_connection(loop_, std::move(connection));
    return;
  }
  if (idle_.size() >= max_idle_) drop(idle_.back().get());
  auto idle = std::make_unique<Idle>(*this, std::move(connection));
  Idle* raw = idle.get();
  idle_.push_front(std::move(idle));
  raw->self_ = idle_.begin();
  raw->since_ = loop_.now();
  raw->timer_.arm(idle_timeout_);
}

UpstreamConnectionPtr KeepalivePool::take(std::size_t peer) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    Idle* i = it->get();
    ++it;
    if (i->conn_->peer() != peer || i->dead_) continue;
    bool alive = true;
    if (loop_.now() - i->since_ >= kPeekAfter) {
      char byte;
      ssize_t n = ::recv(i->conn_->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      alive = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    if (!alive) {
      drop(i);
      continue;
    }
    UpstreamConnectionPtr c = std::move(i->conn_);
    c->set_delegate(nullptr);
    i->dead_ = true;
    i->timer_.cancel();
    std::shared_ptr<Idle> owned(std::move(*i->self_));
    idle_.erase(i->self_);
    loop_.defer([owned] {});
    return c;
  }
  return nullptr;
}

void KeepalivePool::drop(Idle* idle) {
  if (idle->dead_) return;
  idle->dead_ = true;
  idle->timer_.cancel();
  retire_connection(loop_, std::move(idle->conn_));
  // Freed after the current batch: this may run inside the Idle's own event callback.
  std::shared_ptr<Idle> owned(std::move(*idle->self_));
  idle_.erase(idle->self_);
  loop_.defer([owned] {});
}

}  // namespace serverd
