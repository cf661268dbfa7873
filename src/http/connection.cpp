#include "http/connection.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
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
constexpr std::size_t kSendfileChunk = 2 * 1024 * 1024;
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

Connection::~Connection() { release_slot(); }

EventLoop& Connection::loop() { return owner_.loop(); }

WorkerContext& Connection::worker() { return owner_.worker(); }

const Request& Connection::request() const {
  assert(slot_);
  return slot_->request;
}

bool Connection::idle() const { return !slot_ && !output_pending() && in_.empty(); }

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
  if (closed_) return;
  if (events & EPOLLERR) {
    close();
    return;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP)) eof_seen_ = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) readable_ = true;
  process();
}

void Connection::process() {
  if (in_process_ || closed_) return;  // respond() from inside a handler lands here
  in_process_ = true;
  run();
  in_process_ = false;
}

bool Connection::tls_handshake() {
  const int r = tls_->handshake();
  if (r == 0) return false;  // the next event continues it
  if (r < 0) {
    // Garbage, a protocol the listener refuses, a client that vanished: this connection only.
    spdlog::info("client {}: TLS handshake failed: {}", peer_.to_string(), tls_->failure());
    close();
    return false;
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("client {}: TLS handshake done ({}, {}, SNI \"{}\", ALPN \"{}\", {})",
                  peer_.to_string(), tls_->protocol(), tls_->cipher(), tls_->server_name(),
                  tls_->alpn(), tls_->reused() ? "session reused" : "new session");
  }
  timer_.arm(servers_.select({}).limits.client_header_timeout);
  readable_ = true;  // the handshake may have left request bytes in the socket
  return true;
}

void Connection::run() {
  if (tls_ && !tls_->established() && !tls_handshake()) return;
  for (int round = 0; round < kMaxRoundsPerEvent; ++round) {
    if (closed_) return;
    if (lingering_) {
      linger();
      return;
    }
    if (output_pending() && !flush()) return;  // blocked: EPOLLOUT brings us back
    if (want_writable_ && output_bytes() < output_bound_) {
      want_writable_ = false;
      if (async_) async_->on_client_writable();
      continue;
    }
    if (close_after_output_) {
      start_lingering_close();
      continue;
    }
    if (slot_ && responded_ && message_done_) {
      end_exchange();
      continue;
    }
    if (tunnel_) {
      if (!run_tunnel()) return;
      continue;
    }
    if (slot_ && message_done_) return;  // an asynchronous handler has not answered yet
    if (body_paused_ && slot_ && dispatched_) return;  // the handler applies back-pressure
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

bool Connection::read_input() {
  char* p = in_.write_ptr();
  std::size_t room = in_.writable();
  assert(room > 0);
  ssize_t n = tls_ ? tls_->read(p, room) : ::recv(fd_.get(), p, room, 0);
  if (n > 0) {
    in_.commit(static_cast<std::size_t>(n));
    // A short read drained the socket; edge-triggered epoll will tell us about more.
    // (Unless the client's FIN came with the data: its edge will not be reported again.)
    // TLS returns one record at a time: only EAGAIN says the socket is drained.
    if (static_cast<std::size_t>(n) < room && !eof_seen_ && !tls_) readable_ = false;
    if (slot_ && dispatched_ && !message_done_)
      timer_.arm(server_conf_->limits.client_body_timeout);
    return true;
  }
  in_.release_if_empty();
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    readable_ = false;
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  // EOF or a reset. A client may half-close after sending its last request and still wait for
  // the answer: a complete request is still answered, then the connection closes.
  readable_ = false;
  peer_closed_ = true;
  if (n == 0 && slot_ && message_done_) return true;
  if (slot_ && n == 0)
    spdlog::debug("client {} closed the connection in the middle of a request", peer_.to_string());
  close();
  return false;
}

void Connection::parse_input() {
  if (!slot_) {
    slot_ = owner_.acquire_slot();
    RequestParser::Limits limits;
    const auto& defaults = servers_.select({}).limits;
    limits.max_uri_length = defaults.max_uri_length;
    limits.max_header_size = defaults.max_header_size;
    slot_->parser.start(&slot_->request, limits);
    slot_->request.set_addresses(&peer_, &local_);
    slot_->request.set_tls(tls_.get());
    dispatched_ = responded_ = message_done_ = handler_called_ = false;
    response_started_ = chunked_out_ = head_only_ = want_writable_ = body_paused_ = false;
    tunnel_ = tunnel_eof_sent_ = false;
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
      if (!dispatched_) on_head();
      if (!handler_called_ && !responded_ && !closed_) call_handler();
      if (async_ && !tunnel_) async_->on_request_body_end();
      if (closed_) return;
      // Body timeouts are over; an asynchronous handler runs its own timers.
      if (!responded_) timer_.cancel();
      break;
    case RequestParser::Status::error:
      fail(slot_->parser.error_status(), slot_->parser.error_reason());
      break;
  }
}

void Connection::on_head() {
  Request& req = slot_->request;
  server_conf_ = &servers_.select(req.host(), &req.server_name_captures_);
  location_ = servers_.locations(*server_conf_).match(req.path());
  dispatched_ = true;
  // A server that requires client certificates answers only connections that presented one:
  // the handshake may have been made for another server on this address (SNI and Host differ,
  // or a session resumed from one).
  if (tls_ && server_conf_->tls &&
      server_conf_->tls->verify_client == TlsServerConfig::VerifyClient::on &&
      tls_->client_subject().empty()) {
    fail(400, "no required TLS client certificate was sent");
    return;
  }

  std::uint64_t max_body = location_ ? location_->client_max_body_size
                                     : server_conf_->limits.client_max_body_size;
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
    if (!responded_) respond_error(500);
    owner_.report_fatal(fmt::format("module \"{}\" threw: {}", handler.name(), e.what()));
  }
}

void Connection::on_body(std::string_view chunk) {
  // Without an asynchronous handler the body is read and discarded (within the size limit),
  // keeping the connection usable for the next request.
  if (async_) async_->on_request_body(chunk);
}

void Connection::begin_response(Response& response) {
  const Request& req = slot_->request;
  log_.status = response.status;
  if (location_) {
    const auto& modules = owner_.modules();
    for (std::size_t i = 0; i < modules.size(); ++i) {
      if (const ModuleConf* conf = location_->modules[i].get())
        modules[i].filter_headers(*this, response, *conf);
    }
  }
  const auto keepalive_requests =
      server_conf_ ? server_conf_->limits.keepalive_requests : 1000u;
  // After an Upgrade request that was not switched, the bytes that follow are not HTTP.
  keep_alive_ = req.keep_alive() && !req.upgrade() && !response.close_connection && !draining_ &&
                !owner_.draining() && requests_ + 1 < keepalive_requests;
}

void Connection::respond(Response&& response) {
  assert(slot_ && !responded_ && !response_started_);
  if (!slot_ || responded_ || response_started_ || closed_) return;
  responded_ = true;
  response_started_ = true;
  async_ = nullptr;
  begin_response(response);
  const bool no_body = status_has_no_body(response.status);
  std::uint64_t length = no_body ? 0 : response.body_length();
  write_head(response, length, no_body ? Framing::none : Framing::length);
  if (!no_body && !slot_->request.is_head()) {
    log_.body_bytes_sent = response.body_length();
    set_body(response);
  }
  if (!keep_alive_) close_after_output_ = true;
  process();
}

void Connection::write_head(const Response& r, std::uint64_t content_length, Framing framing) {
  fmt::memory_buffer head;
  auto out = std::back_inserter(head);
  // A configured Server header (add_header) replaces ours.
  fmt::format_to(out, "HTTP/1.1 {} {}\r\n{}Date: {}\r\n", r.status, status_reason(r.status),
                 r.headers.has("server") ? "" : "Server: serverd\r\n", owner_.date());
  const bool switching = r.status == 101;
  for (const auto& h : r.headers) {
    // Framing is ours: a module cannot desynchronise the connection.
    if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding") ||
        iequals(h.name, "connection") || (!switching && iequals(h.name, "upgrade")))
      continue;
    fmt::format_to(out, "{}: {}\r\n", h.name, h.value);
  }
  if (framing == Framing::length) fmt::format_to(out, "Content-Length: {}\r\n", content_length);
  if (framing == Framing::chunked) fmt::format_to(out, "Transfer-Encoding: chunked\r\n");
  if (switching)
    fmt::format_to(out, "Connection: upgrade\r\n\r\n");
  else if (!keep_alive_)
    fmt::format_to(out, "Connection: close\r\n\r\n");
  else if (slot_->request.version_minor() == 0)
    fmt::format_to(out, "Connection: keep-alive\r\n\r\n");
  else
    fmt::format_to(out, "\r\n");
  append_output({head.data(), head.size()});
}

void Connection::set_body(Response& r) {
  if (!r.file) {
    append_output(r.body);
    return;
  }
  // Small files ride in the same write as the head: one syscall instead of writev + sendfile.
  if (overflow_.empty() && r.file_length <= out_.writable() && r.file_length <= 16 * 1024) {
    char* p = out_.write_ptr();
    std::uint64_t done = 0;
    while (done < r.file_length) {
      ssize_t n = ::pread(r.file.get(), p + done, r.file_length - done,
                          static_cast<off_t>(r.file_offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::uint64_t>(n);
    }
    out_.commit(done);
    if (done < r.file_length) {
      // The file shrank under us: the promised length cannot be met, so the connection ends.
      spdlog::error("short read of a file body ({} of {} bytes)", done, r.file_length);
      keep_alive_ = false;
      close_after_output_ = true;
    }
    return;
  }
  file_ = std::move(r.file);
  file_offset_ = r.file_offset;
  file_left_ = r.file_length;
}

void Connection::append_output(std::string_view bytes) {
  if (overflow_.empty()) {
    std::size_t n = out_.append(bytes);
    bytes.remove_prefix(n);
  }
  if (!bytes.empty()) overflow_.append(bytes);
}

bool Connection::output_pending() const {
  return !out_.empty() || overflow_sent_ < overflow_.size() || file_left_ > 0;
}

bool Connection::flush() {
  for (;;) {
    std::size_t over = overflow_.size() - overflow_sent_;
    // No sendfile through TLS: the file goes through the output buffer and SSL_write, filled
    // behind whatever is already there, so the head and the start of the body leave in one
    // record and one send() (what nginx's ssl_buffer achieves).
    if (tls_ && file_left_ > 0 && over == 0 && out_.writable() > 0 && !fill_from_file()) {
      close();
      return false;
    }
    if (!out_.empty() || over > 0) {
      iovec iov[2];
      int cnt = 0;
      if (!out_.empty()) iov[cnt++] = {const_cast<char*>(out_.data()), out_.size()};
      if (over > 0) iov[cnt++] = {overflow_.data() + overflow_sent_, over};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(cnt);
      // MSG_MORE holds a partial segment back while a file body follows (no tiny head packet).
      int flags = MSG_NOSIGNAL | (file_left_ > 0 ? MSG_MORE : 0);
      ssize_t n = tls_ ? send_output(iov, cnt, flags) : ::sendmsg(fd_.get(), &msg, flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          timer_.arm(server_conf_ ? server_conf_->limits.send_timeout
                                  : servers_.select({}).limits.send_timeout);
          return false;
        }
        close();
        return false;
      }
      auto written = static_cast<std::size_t>(n);
      std::size_t from_out = std::min(written, out_.size());
      out_.consume(from_out);
      overflow_sent_ += written - from_out;
      if (overflow_sent_ == overflow_.size()) {
        overflow_.clear();
        overflow_sent_ = 0;
        if (overflow_.capacity() > 64 * 1024) overflow_.shrink_to_fit();
      }
      if (timer_.armed() && (file_left_ > 0 || !out_.empty() || !overflow_.empty()))
        timer_.arm(server_conf_ ? server_conf_->limits.send_timeout
                                : servers_.select({}).limits.send_timeout);
      continue;
    }
    if (file_left_ > 0) {
      assert(!tls_);  // TLS bodies were moved into out_ at the top of the loop
      off_t off = static_cast<off_t>(file_offset_);
      ssize_t n = ::sendfile(fd_.get(), file_.get(), &off,
                             std::min<std::uint64_t>(file_left_, kSendfileChunk));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          timer_.arm(server_conf_->limits.send_timeout);
          return false;
        }
        close();
        return false;
      }
      if (n == 0) {
        spdlog::error("file body ended {} bytes early", file_left_);
        close();
        return false;
      }
      file_offset_ += static_cast<std::uint64_t>(n);
      file_left_ -= static_cast<std::uint64_t>(n);
      if (file_left_ == 0) file_.reset();
      continue;
    }
    out_.release_if_empty();
    return true;
  }
}

ssize_t Connection::send_output(const iovec* iov, int count, int /*flags*/) {
  // TLS: one SSL_write per piece (a piece is at most a buffer block or the overflow string);
  // the caller's accounting is the same as for a partial sendmsg.
  ssize_t total = 0;
  for (int i = 0; i < count; ++i) {
    const char* base = static_cast<const char*>(iov[i].iov_base);
    std::size_t done = 0;
    while (done < iov[i].iov_len) {
      const ssize_t n = tls_->write(base + done, iov[i].iov_len - done);
      if (n < 0) return total > 0 ? total : n;
      done += static_cast<std::size_t>(n);
      total += n;
    }
  }
  return total;
}

bool Connection::fill_from_file() {
  char* p = out_.write_ptr();
  const std::size_t room =
      static_cast<std::size_t>(std::min<std::uint64_t>(out_.writable(), file_left_));
  for (;;) {
    const ssize_t n = ::pread(file_.get(), p, room, static_cast<off_t>(file_offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::error("file body ended {} bytes early", file_left_);
      return false;
    }
    out_.commit(static_cast<std::size_t>(n));
    file_offset_ += static_cast<std::uint64_t>(n);
    file_left_ -= static_cast<std::uint64_t>(n);
    if (file_left_ == 0) file_.reset();
    return true;
  }
}

void Connection::fail(int status, std::string_view reason) {
  spdlog::info("client {}: {} ({}), closing connection", peer_.to_string(), reason, status);
  readable_ = false;  // read no further request bytes: they are discarded while lingering
  notify_gone();  // an asynchronous handler learns its exchange is over
  if (!slot_ || response_started_) {
    // The answer is (partly) out already; the only honest thing left is to end the connection.
    close_after_output_ = true;
    return;
  }
  // The request may be unroutable (no head yet): error pages go out under the default server.
  if (!server_conf_) server_conf_ = &servers_.select({});
  location_ = nullptr;
  Response r = make_error_response(status);
  r.close_connection = true;
  responded_ = true;
  response_started_ = true;
  keep_alive_ = false;
  log_.status = status;
  write_head(r, r.body.size(), Framing::length);
  if (!slot_->request.is_head()) {
    append_output(r.body);
    log_.body_bytes_sent = r.body.size();
  }
  close_after_output_ = true;
}

void Connection::log_once() {
  if (logged_ || !slot_ || !response_started_) return;
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
  if (draining_ && in_.empty()) {
    start_lingering_close();
    return;
  }
  // Pipelined bytes already read are parsed at once by the caller's loop; otherwise it idles.
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
  if (requests_ > 0 && !draining_) timer_.arm(servers_.select({}).limits.keepalive_timeout);
}

void Connection::on_timeout() {
  if (closed_) return;
  if (lingering_) {
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
  if (slot_ && !dispatched_) {
    // A slot is only taken once request bytes arrived: the client started and stalled.
    fail(408, "client timed out sending the request head");
    process();
    return;
  }
  if (slot_ && !message_done_) {
    if (!responded_) {
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
  if (closed_) return;
  draining_ = true;
  if (idle()) {
    // Closing now would race a request the client may be sending this very moment (nginx's
    // failed requests on reload). Wait a little: a request that arrives is answered with
    // "Connection: close"; a connection that stays quiet gets a FIN.
    auto grace = std::min<std::chrono::milliseconds>(
        kDrainIdleGrace, servers_.select({}).limits.keepalive_timeout);
    if (!timer_.armed() || timer_.deadline() > owner_.loop().now() + grace) timer_.arm(grace);
  }
}

void Connection::start_lingering_close() {
  if (lingering_ || closed_) return;
  lingering_ = true;
  close_after_output_ = false;
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
  if (closed_) return;
  closed_ = true;
  notify_gone();
  if (slot_ && response_started_ && !responded_) log_.aborted = true;
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

void Connection::release_slot() {
  if (slot_) {
    owner_.release_slot(slot_);
    slot_ = nullptr;
  }
}

}  // namespace serverd
