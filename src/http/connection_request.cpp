// Connection: one request from its first byte to the end of its exchange. Parsing (with the
// address's default limits until the Host is known), routing to server and location, the
// checks routing enables (client certificate, body size), calling the content handler, error
// answers, and what follows the exchange (keep-alive or close).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <exception>

#include "http/connection.hpp"
#include "http/module.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

void Connection::parse_input() {
  if (!slot_) {
    slot_ = owner_.acquire_slot();
    phase_ = Phase::head;
    RequestParser::Limits limits;
    const auto& defaults = servers_.select({}).limits;
    limits.max_uri_length = defaults.max_uri_length;
    limits.max_header_size = defaults.max_header_size;
    slot_->parser.start(&slot_->request, limits);
    slot_->request.set_addresses(&peer_, &local_);
    slot_->request.set_tls(tls_.get());
    answer_ = Answer::none;
    message_done_ = handler_called_ = false;
    stream_body_ = StreamBody::as_is;
    want_writable_ = body_paused_ = false;
    tunnel_eof_sent_ = false;
    async_ = nullptr;
    output_bound_ = 64 * 1024;
    log_ = ExchangeLog{};
    log_.start = owner_.loop().now();
    logged_ = false;
    keep_alive_ = false;
    server_conf_ = nullptr;
    location_ = nullptr;
    if (requests_ > 0) timer_.arm(servers_.select({}).limits.client_header_timeout);
  }
  auto result = slot_->parser.feed(in_.view());
  in_.consume(result.consumed);
  switch (result.status) {
    case RequestParser::Status::need_more:
      break;
    case RequestParser::Status::headers_complete:
      on_head();
      break;
    case RequestParser::Status::message_complete:
      message_done_ = true;
      if (phase_ == Phase::head) on_head();
      if (!handler_called_ && answer_ != Answer::done && phase_ != Phase::closed) call_handler();
      if (async_ && phase_ != Phase::tunnel) async_->on_request_body_end();
      if (phase_ == Phase::closed) return;
      // Body timeouts are over; an asynchronous handler runs its own timers.
      if (answer_ != Answer::done) timer_.cancel();
      break;
    case RequestParser::Status::error:
      fail(slot_->parser.error_status(), slot_->parser.error_reason());
      break;
  }
}

void Connection::on_head() {
  const Request& req = slot_->request;
  server_conf_ = &servers_.select(req.host());
  location_ = servers_.locations(*server_conf_).match(req.path());
  phase_ = Phase::exchange;
  // A server that requires client certificates answers only connections that presented one:
  // the handshake may have been made for another server on this address (SNI and Host differ,
  // or a session resumed from one).
  if (tls_ && server_conf_->tls &&
      server_conf_->tls->verify_client == TlsServerConfig::VerifyClient::on &&
      tls_->client_subject().empty()) {
    fail(400, "no required TLS client certificate was sent");
    return;
  }

  std::uint64_t max_body =
      location_ ? location_->client_max_body_size : server_conf_->limits.client_max_body_size;
  if (max_body != 0 && req.content_length().value_or(0) > max_body) {
    fail(413, "request body too large");
    return;
  }
  slot_->parser.set_max_body_size(max_body);
  slot_->parser.set_body_sink(this);
  if (req.has_body()) {
    timer_.arm(server_conf_->limits.client_body_timeout);
    if (req.expects_continue()) append_output("HTTP/1.1 100 Continue\r\n\r\n");
  } else {
    timer_.cancel();
  }
  const Module* handler = nullptr;
  if (location_ && location_->handler >= 0)
    handler = &owner_.modules()[static_cast<std::size_t>(location_->handler)];
  // Non-streaming handlers answer once the body is in (see Module::streams_request_body).
  if (req.has_body() && !(handler && handler->streams_request_body())) return;
  call_handler();
}

void Connection::call_handler() {
  handler_called_ = true;
  if (!location_ || location_->handler < 0) {
    respond_error(404);
    return;
  }
  const auto index = static_cast<std::size_t>(location_->handler);
  const Module& handler = owner_.modules()[index];
  const ModuleConf* conf = location_->modules[index].get();
  try {
    handler.handle(*this, *conf);
  } catch (const std::exception& e) {
    spdlog::error("module \"{}\" failed on \"{}\": {}", handler.name(), slot_->request.target(),
                  e.what());
    if (answer_ != Answer::done) respond_error(500);
    owner_.report_fatal(fmt::format("module \"{}\" threw: {}", handler.name(), e.what()));
  }
}

void Connection::on_body(std::string_view chunk) {
  // Without an asynchronous handler the body is read and discarded (within the size limit),
  // keeping the connection usable for the next request.
  if (async_) async_->on_request_body(chunk);
}

void Connection::fail(int status, std::string_view reason) {
  spdlog::info("client {}: {} ({}), closing connection", peer_.to_string(), reason, status);
  readable_ = false;  // read no further request bytes: they are discarded while lingering
  notify_gone();      // an asynchronous handler learns its exchange is over
  if (!slot_ || answer_ != Answer::none) {
    // The answer is (partly) out already; the only honest thing left is to end the connection.
    close_after_output();
    return;
  }
  // The request may be unroutable (no head yet): error pages go out under the default server.
  if (!server_conf_) server_conf_ = &servers_.select({});
  location_ = nullptr;
  Response r = make_error_response(status);
  r.close_connection = true;
  answer_ = Answer::done;
  keep_alive_ = false;
  log_.status = status;
  write_head(r, r.body.size(), BodyFraming::length);
  if (!slot_->request.is_head()) {
    append_output(r.body);
    log_.body_bytes_sent = r.body.size();
  }
  close_after_output();
}

void Connection::log_once() {
  if (logged_ || !slot_ || answer_ == Answer::none) return;
  logged_ = true;
  owner_.log_exchange(slot_->request, log_, server_conf_, location_);
}

void Connection::end_exchange() {
  ++requests_;
  log_once();
  release_slot();
  if (!keep_alive_) {
    start_lingering_close();
    return;
  }
  phase_ = Phase::idle;
  if (draining_ && in_.empty()) {
    start_lingering_close();
    return;
  }
  // Pipelined bytes already read are parsed at once by the caller's loop; otherwise it idles.
}

}  // namespace serverd
