// ProxyRequest: the response coming back. Reading the upstream socket, parsing with
// ResponseParser, streaming the body to the client with back-pressure, handing a finished
// connection to the keep-alive pool, and switching to a byte tunnel after a 101.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_headers.hpp"
#include "modules/proxy/proxy_request.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

void ProxyRequest::on_client_writable() {
  if (done_) return;
  upstream_paused_ = false;
  if (conn_) read_upstream();
}

void ProxyRequest::read_upstream() {
  char buf[16 * 1024];
  for (int round = 0; round < 64 && !done_ && conn_ && !upstream_paused_ && upstream_readable_;
       ++round) {
    TlsSession* tls = conn_->tls();
    ssize_t n = tls ? tls->read(buf, sizeof buf) : ::recv(conn_->fd(), buf, sizeof buf, 0);
    if (n > 0) {
      any_response_byte_ = true;
      timer_.arm(conf_.read_timeout);
      // A short read drained the socket, unless the peer's FIN came with the data: that edge
      // was reported already and will not come again, so read on to the EOF. (TLS hands out
      // one record at a time: there only EAGAIN tells.)
      if (static_cast<std::size_t>(n) < sizeof buf && !upstream_eof_seen_ && !tls)
        upstream_readable_ = false;
      if (tunnel_) {
        if (ex_ && !ex_->send_body({buf, static_cast<std::size_t>(n)})) upstream_paused_ = true;
        continue;
      }
      if (!feed(buf, static_cast<std::size_t>(n))) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      upstream_readable_ = false;
      return;
    }
    // The upstream closed (or reset) its side.
    std::string why = n == 0 ? "the upstream closed the connection" : std::strerror(errno);
    if (tunnel_) {
      end_exchange();
      return;
    }
    if (response_started_ && n == 0 && parser_.finish()) {
      // A body delimited by the end of the connection ends here.
      complete_response(true);
      return;
    }
    if (response_started_) {
      spdlog::error("{}: {} in the middle of the response", describe(), why);
      fail_exchange(502);
      return;
    }
    attempt_failed(why + " before sending a response", false);
    return;
  }
  // Bounded work per event: more may be readable; come back after other connections.
  if (!done_ && conn_ && upstream_readable_ && !upstream_paused_)
    loop_.defer([this] {
      if (!done_) read_upstream();
    });
}

bool ProxyRequest::feed(const char* data, std::size_t len) {
  std::string_view in(data, len);
  // The rest is fed again after every event, even when empty: a head without a body completes
  // the message without another byte.
  for (;;) {
    const ResponseParser::Result r = parser_.feed(in);
    in.remove_prefix(r.consumed);
    switch (r.event) {
      case ResponseParser::Event::need_more:
        return true;
      case ResponseParser::Event::head:
        if (!on_response_head()) return false;
        continue;
      case ResponseParser::Event::body:
        if (ex_ && !ex_->send_body(r.body)) upstream_paused_ = true;
        if (done_) return false;
        continue;
      case ResponseParser::Event::complete:
        complete_response(!in.empty());
        return false;
      case ResponseParser::Event::upgrade:
        enter_tunnel(in.data(), in.size());
        return !done_;
      case ResponseParser::Event::error:
        break;
    }
    const std::string reason(parser_.error_reason());
    if (response_started_) {
      spdlog::error("{}: invalid response body: {}", describe(), reason);
      fail_exchange(502);
      return false;
    }
    attempt_failed("invalid response: " + reason, false);
    return false;
  }
}

bool ProxyRequest::on_response_head() {
  const int status = parser_.status();
  up_.group.report_success(*peer_);
  Response head;
  head.status = status;
  head.headers = client_response_headers(parser_.headers(), false, conf_.hide_headers);
  response_started_ = true;
  if (ex_) ex_->start_response(std::move(head), parser_.body_length());
  if (done_) return false;
  if (!ex_) {
    finish();
    return false;
  }
  return true;
}

void ProxyRequest::complete_response(bool leftover) {
  bool request_sent =
      head_sent_ == head_.size() && body_sent_ == body_out_.size() && request_body_end_;
  bool reusable = !leftover && request_sent && parser_.keep_alive() && !upgrade_request_;
  if (ex_)
    ex_->log_info().upstream_response_time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - started_).count();
  // Let go of the exchange first: ending it may start the connection's next request.
  if (Exchange* ex = std::exchange(ex_, nullptr)) ex->end_response();
  if (peer_ && conn_ && conn_->tls()) {
    // After a whole response the server's TLS 1.3 tickets have arrived: keep the session.
    if (up_.tls_sessions.size() <= peer_->index) up_.tls_sessions.resize(peer_->index + 1);
    up_.tls_sessions[peer_->index] = {conf_.tls.get(), conn_->tls()->session()};
  }
  if (peer_) {
    up_.group.release(*peer_);
    if (reusable && conn_) {
      conn_->set_delegate(nullptr);
      up_.pool.put(std::move(conn_));
    }
    peer_ = nullptr;
  }
  finish();
}

void ProxyRequest::enter_tunnel(const char* rest, std::size_t len) {
  up_.group.report_success(*peer_);
  Response head;
  head.status = 101;
  head.headers = client_response_headers(parser_.headers(), true, conf_.hide_headers);
  tunnel_ = true;
  response_started_ = true;
  // The handshake's own (empty) body ended before the tunnel: that end is not the client's.
  request_body_end_ = false;
  shut_write_ = false;
  if (ex_) ex_->start_tunnel(std::move(head));
  if (done_ || !ex_) return;
  timer_.arm(conf_.read_timeout);  // an idle tunnel ends after proxy_read_timeout
  if (len > 0 && !ex_->send_body({rest, len})) upstream_paused_ = true;
}

}  // namespace serverd
