// ProxyRequest: reaching a server. Picking one, a pooled connection or a new non-blocking
// connect, the upstream TLS handshake, and the upstream socket's events.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_request.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace serverd {
namespace {
// This worker is short of something (descriptors, buffers, local ports): the server did nothing
// wrong, so it is not marked down, and trying the next one would fail the same way.
bool local_shortage(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}
}  // namespace

void ProxyRequest::connect_next() {
  PickContext ctx;
  ctx.now = loop_.now();
  ctx.hash_key = hash_key_;
  ctx.tried = tried_;
  peer_ = up_.group.pick(ctx);
  if (!peer_) {
    spdlog::error("no live servers in upstream \"{}\" (client {}, request \"{} {}\")",
                  up_.config->name, client_ip_, method_, target_);
    fail_exchange(502);
    return;
  }
  if (peer_->index < 64) tried_ |= std::uint64_t{1} << peer_->index;
  ++tries_;
  if (ex_) {
    // Every server tried, as nginx's $upstream_addr: "10.0.0.1:80, 10.0.0.2:80".
    std::string& addrs = ex_->log_info().upstream_addr;
    if (!addrs.empty()) addrs += ", ";
    addrs += peer_->config->address.to_string();
    if (tries_ == 1) started_ = loop_.now();
  }
  up_.group.acquire(*peer_);

  // Fresh state for this attempt.
  head_sent_ = 0;
  any_response_byte_ = false;
  upstream_readable_ = upstream_paused_ = shut_write_ = upstream_eof_seen_ = false;
  parser_.start(head_request_, upgrade_request_);

  conn_ = up_.pool.take(peer_->index);
  if (conn_ && (conn_->tls() != nullptr) != (conf_.tls != nullptr)) {
    // Pooled by a location that speaks the other protocol to this group.
    retire_connection(loop_, std::move(conn_));
  }
  reused_ = conn_ != nullptr;
  if (reused_) {
    conn_->set_delegate(this);
    connected();
    return;
  }
  const SocketAddress& a = peer_->config->address;
  UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    const int err = errno;
    if (local_shortage(err)) {
      fail_locally(std::string("socket() failed: ") + std::strerror(err));
      return;
    }
    attempt_failed(std::string("socket() failed: ") + std::strerror(err), false);
    return;
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd.get(), a.get(), a.length);
  if (rc != 0 && errno != EINPROGRESS) {
    const int err = errno;
    if (local_shortage(err)) {
      fail_locally(std::string("connect() failed: ") + std::strerror(err));
      return;
    }
    attempt_failed(std::string("connect() failed: ") + std::strerror(err), false);
    return;
  }
  conn_ = std::make_shared<UpstreamConnection>(loop_, std::move(fd), peer_->index);
  conn_->set_delegate(this);
  conn_->register_with_loop();
  if (rc == 0) {
    connected();
    return;
  }
  link_ = Link::connecting;
  timer_.arm(conf_.connect_timeout);
}

void ProxyRequest::fail_locally(const std::string& reason) {
  spdlog::error("{}: {}; answering 502", describe(), reason);
  fail_exchange(502);  // releases the server without counting a failure against it
}

void ProxyRequest::connected() {
  link_ = Link::ready;
  if (conf_.tls && !conn_->tls()) {
    conn_->set_tls(
        TlsSession::connect(conf_.tls->get(), conn_->fd(), conf_.tls_sni, conf_.tls_verify_name));
    if (!conn_->tls()) {
      attempt_failed("cannot start TLS: " + tls_error_text(), false);
      return;
    }
    if (peer_->index < up_.tls_sessions.size()) {
      const auto& cached = up_.tls_sessions[peer_->index];
      if (cached.session && cached.context == conf_.tls.get())
        conn_->tls()->offer_session(cached.session.get());
    }
  }
  if (conn_->tls() && !conn_->tls()->established()) {
    link_ = Link::handshaking;
    timer_.arm(conf_.connect_timeout);
    continue_handshake();
    return;
  }
  upstream_readable_ = true;
  write_upstream();
}

void ProxyRequest::continue_handshake() {
  const int r = conn_->tls()->handshake();
  if (r == 0) return;   // the next event continues it
  link_ = Link::ready;  // a failure below makes it none again
  if (r < 0) {
    attempt_failed("TLS handshake failed: " + conn_->tls()->failure(), false);
    return;
  }
  upstream_readable_ = true;
  write_upstream();
}

void ProxyRequest::on_event(std::uint32_t events) {
  if (done_ || !conn_) return;
  if (link_ == Link::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(conn_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      attempt_failed(std::string("connect() failed: ") + std::strerror(err), false);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    connected();
    if (done_ || link_ == Link::handshaking) return;
  } else if (link_ == Link::handshaking) {
    continue_handshake();
    if (done_ || link_ == Link::handshaking) return;
  } else if (events & EPOLLOUT) {
    write_upstream();
    if (done_) return;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) upstream_eof_seen_ = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    upstream_readable_ = true;
    read_upstream();
  }
}

}  // namespace serverd
