#pragma once
#include <cstddef>
#include <memory>

#include "core/unique_fd.hpp"
#include "event/loop.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

// A connection to an upstream server, registered with epoll once for its whole life
// (edge-triggered, in and out). Whoever uses it, a request or the idle pool, only swaps the
// delegate: moving a connection between a request and the pool costs no epoll_ctl call.
class UpstreamConnection final : public EventHandler {
 public:
  UpstreamConnection(EventLoop& loop, UniqueFd fd, std::size_t peer)
      : loop_(loop), fd_(std::move(fd)), peer_(peer) {}
  ~UpstreamConnection() { close(); }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  static constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  void register_with_loop() {
    loop_.add(fd_.get(), kEvents, this);
    registered_ = true;
  }
  void set_delegate(EventHandler* delegate) { delegate_ = delegate; }
  int fd() const { return fd_.get(); }
  // Upstream TLS: the session lives as long as the connection, pooled with it.
  TlsSession* tls() const { return tls_.get(); }
  void set_tls(std::unique_ptr<TlsSession> tls) { tls_ = std::move(tls); }
  std::size_t peer() const { return peer_; }
  void close() {
    if (registered_) loop_.remove(fd_.get());
    registered_ = false;
    delegate_ = nullptr;
    // close_notify: polite, and OpenSSL would otherwise mark the session as not resumable.
    if (tls_) tls_->shutdown();
    tls_.reset();
    fd_.reset();
  }
  void on_event(std::uint32_t events) override {
    if (delegate_) delegate_->on_event(events);
  }

 private:
  EventLoop& loop_;
  UniqueFd fd_;
  std::unique_ptr<TlsSession> tls_;
  std::size_t peer_;
  EventHandler* delegate_ = nullptr;
  bool registered_ = false;
};

}  // namespace serverd
