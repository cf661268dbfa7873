// Connection: its life. Start, events, the work loop that decides what happens next from the
// phase, timeouts, draining, the lingering close and the close.
#include "http/connection.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <exception>

#include "http/module.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

namespace {
constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// Bounds on a lingering close: how long to wait for the client to finish sending, in all and
// between two reads.
constexpr std::chrono::milliseconds kLingeringTime{30'000};
constexpr std::chrono::milliseconds kLingeringTimeout{5'000};
// Per wake-up work bound, so one busy pipelining client cannot starve the others.
constexpr int kMaxRoundsPerEvent = 64;
// How long a draining worker keeps an idle connection open for a request already on its way.
constexpr std::chrono::milliseconds kDrainIdleGrace{1'000};

}  // namespace

Connection::Connection(HttpServer& owner, UniqueFd fd, const SocketAddress& peer,
                       const SocketAddress& local, const ServerIndex& servers,
                       std::unique_ptr<TlsSession> tls)
    : owner_(owner),
      fd_(std::move(fd)),
      peer_(peer),
      local_(local),
      servers_(servers),
      tls_(std::move(tls)),
      timer_(owner.loop().timers(), [this] { on_timeout(); }),
      in_(owner.buffers()),
      out_(owner.buffers()) {}

Connection::~Connection() {
  release_slot();
}
EventLoop& Connection::loop() {
  return owner_.loop();
}

WorkerContext& Connection::worker() {
  return owner_.worker();
}

const Request& Connection::request() const {
  assert(slot_);
  return slot_->request;
}

const HttpLimits& Connection::last_limits() const {
  // The server that answered the last request; before any, the address's default server.
  return server_conf_ ? server_conf_->limits : servers_.select({}).limits;
}

bool Connection::idle() const {
  return !slot_ && !output_pending() && in_.empty();
}

void Connection::start() {
  owner_.loop().add(fd_.get(), kEvents, this);
  // The first request gets the header timeout, as in nginx (client_header_timeout of the
  // address's default server, since no Host has been seen yet); a TLS handshake comes first,
  // under its own timeout.
  const ServerConfig& first = servers_.select({});
  if (tls_ && first.tls)
    timer_.arm(first.tls->handshake_timeout);
  else
    timer_.arm(first.limits.client_header_timeout);
  process();
}

void Connection::on_event(std::uint32_t events) {
  if (phase_ == Phase::closed) return;
  if (events & EPOLLERR) {
    close();
    return;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP)) eof_seen_ = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) readable_ = true;
  process();
}

void Connection::process() {
  if (in_process_ || phase_ == Phase::closed) return;  // respond() from inside a handler lands here
  in_process_ = true;
  run();
  in_process_ = false;
}

void Connection::run() {
  if (tls_ && !tls_->established() && !tls_handshake()) return;
  for (int round = 0; round < kMaxRoundsPerEvent; ++round) {
    if (phase_ == Phase::closed) return;
    if (phase_ == Phase::lingering) {
      linger();
      return;
    }
    if (output_pending() && !flush()) return;  // blocked: EPOLLOUT brings us back
    if (want_writable_ && output_bytes() < output_bound_) {
      want_writable_ = false;
      if (async_) async_->on_client_writable();
      continue;
    }
    if (phase_ == Phase::closing) {
      start_lingering_close();
      continue;
    }
    if (slot_ && answer_ == Answer::done && message_done_) {
      end_exchange();
      continue;
    }
    if (phase_ == Phase::tunnel) {
      if (!run_tunnel()) return;
      continue;
    }
    if (slot_ && message_done_) return;  // an asynchronous handler has not answered yet
    if (body_paused_ && phase_ == Phase::exchange) return;  // the handler applies back-pressure
    if (in_.empty()) {
      if (!readable_) {
        if (!slot_) go_idle();
        return;
      }
      if (!read_input()) return;
      continue;
    }
    parse_input();
  }
  // More work is left (a long pipeline): yield to other connections and come back.
  owner_.loop().defer([this] { process(); });
}

void Connection::go_idle() {
  // Nothing buffered, nothing in flight: hand the buffers back so an idle keep-alive connection
  // costs only this object.
  in_.release();
  out_.release_if_empty();
  if (peer_closed_) {
    close();
    return;
  }
  // A draining one keeps its grace timer; a fresh one the header timeout armed in start().
  if (requests_ > 0 && !draining_) timer_.arm(last_limits().keepalive_timeout);
}

void Connection::on_timeout() {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::lingering) {
    close();
    return;
  }
  if (tls_ && !tls_->established()) {
    spdlog::info("client {}: TLS handshake timed out", peer_.to_string());
    close();
    return;
  }
  if (output_pending()) {
    spdlog::info("client {} timed out while receiving the response", peer_.to_string());
    close();
    return;
  }
  if (phase_ == Phase::head) {
    // A slot is only taken once request bytes arrived: the client started and stalled.
    fail(408, "client timed out sending the request head");
    process();
    return;
  }
  if (slot_ && !message_done_) {
    if (answer_ != Answer::done) {
      fail(408, "client timed out sending the request body");
      process();
      return;
    }
    close();
    return;
  }
  // An idle keep-alive connection (or a fresh one that never sent a byte): a plain FIN.
  close();
}

void Connection::drain() {
  if (phase_ == Phase::closed) return;
  draining_ = true;
  if (idle()) {
    // Closing now would race a request the client may be sending this very moment (nginx's
    // failed requests on reload). Wait a little: a request that arrives is answered with
    // "Connection: close"; a connection that stays quiet gets a FIN.
    auto grace =
        std::min<std::chrono::milliseconds>(kDrainIdleGrace, last_limits().keepalive_timeout);
    if (!timer_.armed() || timer_.deadline() > owner_.loop().now() + grace) timer_.arm(grace);
  }
}

void Connection::start_lingering_close() {
  if (phase_ >= Phase::lingering) return;
  phase_ = Phase::lingering;
  log_once();
  release_slot();
  out_.release_if_empty();
  if (tls_) tls_->shutdown();  // close_notify before the FIN
  if (::shutdown(fd_.get(), SHUT_WR) != 0) {
    close();
    return;
  }
  linger_deadline_ = owner_.loop().now() + kLingeringTime;
  timer_.arm(kLingeringTimeout);
  readable_ = true;
}

void Connection::linger() {
  // Read and drop whatever the client still sends until it closes: closing with unread bytes
  // would make the kernel send a reset, which can destroy the response the client has not read.
  for (int i = 0; i < 16; ++i) {
    char* p = in_.write_ptr();
    ssize_t n = ::recv(fd_.get(), p, in_.writable(), 0);
    in_.clear();
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      in_.release();
      readable_ = false;
      if (owner_.loop().now() >= linger_deadline_) close();
      return;
    }
    close();
    return;
  }
  owner_.loop().defer([this] { process(); });
}

void Connection::notify_gone() {
  if (ExchangeHandler* h = std::exchange(async_, nullptr)) h->on_client_gone();
}

void Connection::close() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  notify_gone();
  if (slot_ && answer_ == Answer::started) log_.aborted = true;
  log_once();
  timer_.cancel();
  owner_.loop().remove(fd_.get());
  fd_.reset();
  file_.reset();
  in_.release();
  out_.release();
  overflow_.clear();
  overflow_.shrink_to_fit();
  release_slot();
  owner_.connection_closed(this);
}

void Connection::close_after_output() {
  // Never back: a connection already lingering or closed stays so.
  if (phase_ < Phase::closing) phase_ = Phase::closing;
}

void Connection::release_slot() {
  if (slot_) {
    owner_.release_slot(slot_);
    slot_ = nullptr;
  }
}

}  // namespace serverd
