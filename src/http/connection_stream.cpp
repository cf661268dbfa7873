// Connection: the streaming side of the Exchange API (asynchronous handlers such as the proxy).
#include <fmt/format.h>

#include "http/connection.hpp"
#include "http/response_head.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace serverd {

void Connection::pause_request_body(bool paused) {
  if (body_paused_ == paused || phase_ == Phase::closed) return;
  body_paused_ = paused;
  if (paused) {
    // The handler is the slow side now; its own timeouts apply.
    if (slot_ && !message_done_) timer_.cancel();
    return;
  }
  if (slot_ && !message_done_ && server_conf_) timer_.arm(server_conf_->limits.client_body_timeout);
  // Resuming from inside the handler's own callback must not re-enter it: continue later.
  owner_.loop().defer([this] { process(); });
}

void Connection::start_response(Response&& head, std::optional<std::uint64_t> content_length) {
  if (!slot_ || answer_ != Answer::none || phase_ == Phase::closed) return;
  answer_ = Answer::started;
  begin_response(head);
  const Request& req = slot_->request;
  stream_body_ =
      req.is_head() || status_has_no_body(head.status) ? StreamBody::dropped : StreamBody::as_is;
  BodyFraming framing = BodyFraming::none;
  if (!status_has_no_body(head.status)) {
    if (content_length) {
      framing = BodyFraming::length;
    } else if (req.version_minor() >= 1) {
      framing = BodyFraming::chunked;
      if (!req.is_head()) stream_body_ = StreamBody::chunked;
    } else {
      framing = BodyFraming::close;  // HTTP/1.0: the end of the body is the end of the connection
      keep_alive_ = false;
    }
  }
  write_head(head, content_length.value_or(0), framing);
  schedule_flush();
}

void Connection::schedule_flush() {
  // One write per event batch: the head and the first body bytes (often the whole body) leave
  // together instead of in one packet each.
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  owner_.loop().defer([this] {
    flush_scheduled_ = false;
    process();
  });
}

bool Connection::send_body(std::string_view data) {
  if (answer_ != Answer::started || phase_ == Phase::closed) return false;
  if (stream_body_ != StreamBody::dropped && !data.empty()) {
    log_.body_bytes_sent += data.size();
    if (stream_body_ == StreamBody::chunked) {
      char size[24];
      auto end = fmt::format_to(size, "{:x}\r\n", data.size());
      append_output({size, static_cast<std::size_t>(end - size)});
      append_output(data);
      append_output("\r\n");
    } else {
      append_output(data);
    }
  }
  schedule_flush();
  if (output_bytes() < output_bound_) return true;
  want_writable_ = true;
  return false;
}

void Connection::end_response() {
  if (answer_ != Answer::started || phase_ == Phase::closed) return;
  if (stream_body_ == StreamBody::chunked) append_output("0\r\n\r\n");
  answer_ = Answer::done;
  async_ = nullptr;  // no more calls into the handler
  want_writable_ = false;
  if (phase_ == Phase::tunnel) {
    keep_alive_ = false;
    close_after_output();
  }
  if (!keep_alive_) close_after_output();
  schedule_flush();
}

void Connection::abort_response() {
  if (phase_ == Phase::closed) return;
  async_ = nullptr;
  want_writable_ = false;
  if (answer_ == Answer::none) {
    // Nothing was sent: an error page is still possible and more useful than a closed socket.
    respond_error(502);
    return;
  }
  answer_ = Answer::done;
  keep_alive_ = false;
  log_.aborted = true;
  close_after_output();
  owner_.loop().defer([this] { process(); });
}

void Connection::start_tunnel(Response&& head) {
  if (!slot_ || answer_ != Answer::none || phase_ == Phase::closed) return;
  answer_ = Answer::started;
  head.status = 101;
  keep_alive_ = false;
  write_head(head, 0, BodyFraming::none);
  phase_ = Phase::tunnel;
  body_paused_ = false;
  timer_.cancel();  // the handler owns the idle timeout of the tunnel
  readable_ = true;
  owner_.loop().defer([this] { process(); });
}

bool Connection::run_tunnel() {
  // Bytes already read past the request head belong to the tunnel.
  if (!in_.empty()) {
    if (body_paused_ || !async_) return false;
    std::string_view bytes = in_.view();
    in_.consume(bytes.size());
    async_->on_request_body(bytes);
    return phase_ == Phase::tunnel;
  }
  if (peer_closed_) {
    if (!tunnel_eof_sent_) {
      tunnel_eof_sent_ = true;
      if (async_) async_->on_request_body_end();
      return phase_ == Phase::tunnel;
    }
    return false;
  }
  if (body_paused_ || !readable_) return false;
  if (!read_input()) return false;
  return true;
}

}  // namespace serverd
