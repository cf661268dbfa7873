// ProxyRequest: the request going upstream. The head, then the client's body as it arrives
// (re-chunked when the client sent it chunked), with back-pressure on the client; in a tunnel,
// the client's bytes as they are.
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_request.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

void ProxyRequest::arm_io_timer() {
  bool pending = head_sent_ < head_.size() || body_sent_ < body_out_.size();
  timer_.arm(pending ? conf_.send_timeout : conf_.read_timeout);
}

void ProxyRequest::write_upstream() {
  while (!done_ && conn_ && link_ == Link::ready) {
    std::size_t head_left = head_.size() - head_sent_;
    std::size_t body_left = body_out_.size() - body_sent_;
    if (head_left == 0 && body_left == 0) break;
    iovec iov[2];
    int n_iov = 0;
    if (head_left) iov[n_iov++] = {head_.data() + head_sent_, head_left};
    if (body_left) iov[n_iov++] = {body_out_.data() + body_sent_, body_left};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n_iov);
    ssize_t n = conn_->tls()
                    ? conn_->tls()->write(static_cast<const char*>(iov[0].iov_base), iov[0].iov_len)
                    : ::sendmsg(conn_->fd(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        timer_.arm(conf_.send_timeout);
        return;
      }
      attempt_failed(std::string("sending the request failed: ") + std::strerror(errno), false);
      return;
    }
    auto w = static_cast<std::size_t>(n);
    std::size_t from_head = std::min(w, head_left);
    head_sent_ += from_head;
    if (w > from_head) {
      body_sent_ += w - from_head;
      body_bytes_written_ = true;
    }
  }
  if (done_ || !conn_ || link_ != Link::ready) return;
  if (body_sent_ == body_out_.size()) {
    body_out_.clear();
    body_sent_ = 0;
    if (client_paused_ && ex_) {
      client_paused_ = false;
      ex_->pause_request_body(false);
    }
    if (tunnel_ && request_body_end_ && !shut_write_) {
      shut_write_ = true;
      if (conn_->tls()) conn_->tls()->shutdown();
      ::shutdown(conn_->fd(), SHUT_WR);
    }
  }
  if (!tunnel_) arm_io_timer();
}

void ProxyRequest::on_request_body(std::string_view chunk) {
  if (done_ || chunk.empty()) return;
  if (body_sent_ > 0 && body_sent_ == body_out_.size()) {
    body_out_.clear();
    body_sent_ = 0;
  }
  if (request_chunked_ && !tunnel_) {
    body_out_.append(fmt::format("{:x}\r\n", chunk.size()));
    body_out_.append(chunk);
    body_out_.append("\r\n");
  } else {
    body_out_.append(chunk);
  }
  if (tunnel_) timer_.arm(conf_.read_timeout);
  if (conn_ && link_ != Link::connecting) write_upstream();
  if (done_) return;
  if (body_out_.size() - body_sent_ > conf_.buffer_size && ex_ && !client_paused_) {
    client_paused_ = true;  // the upstream reads slower than the client sends
    ex_->pause_request_body(true);
  }
}

void ProxyRequest::on_request_body_end() {
  if (done_ || request_body_end_) return;
  request_body_end_ = true;
  if (request_chunked_ && !tunnel_) body_out_.append("0\r\n\r\n");
  if (conn_ && link_ != Link::connecting) write_upstream();
}

}  // namespace serverd
