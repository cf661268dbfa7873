#include "modules/proxy/proxy_request.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "http/variables.hpp"
#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_headers.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

namespace {
constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

ProxyRequest& self(llhttp_t* p) { return *static_cast<ProxyRequest*>(p->data); }

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}
}  // namespace

const llhttp_settings_t& ProxyRequest::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t v;
    llhttp_settings_init(&v);
    v.on_header_field = &ProxyRequest::cb_header_field;
    v.on_header_value = &ProxyRequest::cb_header_value;
    v.on_headers_complete = &ProxyRequest::cb_headers_complete;
    v.on_body = &ProxyRequest::cb_body;
    v.on_message_complete = &ProxyRequest::cb_message_complete;
    return v;
  }();
  return s;
}

void ProxyRequest::start(Exchange& exchange, const ProxyConf& conf, UpstreamRuntime& upstream,
                         ProxyRuntime& runtime) {
  // Owned by itself from here on: it ends in finish(), which frees it after the current batch
  // of events.
  auto* request = new ProxyRequest(exchange, conf, upstream, runtime);
  request->connect_next();
}

ProxyRequest::ProxyRequest(Exchange& ex, const ProxyConf& conf, UpstreamRuntime& up,
                           ProxyRuntime& runtime)
    : ex_(&ex),
      conf_(conf),
      up_(up),
      loop_(runtime.loop()),
      timer_(runtime.loop().timers(), [this] { on_timer(); }) {
  const Request& req = ex.request();
  method_ = req.method();
  target_ = req.target();
  client_ip_ = req.peer().host_string();
  upgrade_request_ = req.upgrade();
  head_request_ = req.is_head();
  idempotent_ = is_idempotent(method_);
  request_chunked_ = req.chunked();

  std::vector<std::pair<std::string, std::string>> set_headers;
  const VariableContext vars{req};
  for (std::size_t i = 0; i < conf.set_headers.size(); ++i)
    set_headers.emplace_back(conf.set_headers[i].first, evaluate(conf.set_header_values[i], vars));
  ForwardContext ctx;
  ctx.client_ip = client_ip_;
  ctx.scheme = ex.scheme();
  ctx.upgrade = upgrade_request_;
  ctx.set_headers = &set_headers;
  HeaderList headers = upstream_request_headers(req, ctx);
  std::string uri = map_upstream_uri(req, ex.location(), *conf.pass);
  head_ = build_upstream_head(method_, uri, headers, req, upgrade_request_);

  const auto& group = *up.config;
  if (group.balance == "ip_hash")
    hash_key_ = client_ip_;
  else if (group.balance == "hash")
    hash_key_ = evaluate(up.hash_key, vars);
  int servers = static_cast<int>(up.group.size());
  max_tries_ = conf.next_upstream_tries > 0 ? std::min(conf.next_upstream_tries, servers) : servers;
  if (max_tries_ < 1) max_tries_ = 1;

  ex.attach(this);
  ex.set_output_bound(conf.buffer_size);
}

ProxyRequest::~ProxyRequest() { close_upstream(); }

std::string ProxyRequest::describe() const {
  std::string peer = peer_ ? peer_->config->address.to_string() : std::string("-");
  return fmt::format("upstream \"{}\" server {} (client {}, request \"{} {}\")", up_.config->name,
                     peer, client_ip_, method_, target_);
}

void ProxyRequest::connect_next() {
  PickContext ctx;
  ctx.now = loop_.now();
  ctx.hash_key = hash_key_;
  ctx.tried = tried_;
  peer_ = up_.group.pick(ctx);
  if (!peer_) {
    spdlog::error("no live servers in upstream \"{}\" (client {}, request \"{} {}\")",
                  up_.config->name, client_ip_, method_, target_);
    if (ex_) ex_->respond_error(502);
    finish();
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
  headers_.clear();
  in_value_ = any_response_byte_ = interim_ = switching_ = false;
  upstream_readable_ = upstream_paused_ = shut_write_ = upstream_eof_seen_ = false;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;

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
    attempt_failed(std::string("socket() failed: ") + std::strerror(errno), false);
    return;
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd.get(), a.get(), a.length);
  if (rc != 0 && errno != EINPROGRESS) {
    attempt_failed(std::string("connect() failed: ") + std::strerror(errno), false);
    return;
  }
  conn_ = std::make_shared<UpstreamConnection>(loop_, std::move(fd), peer_->index);
  conn_->set_delegate(this);
  conn_->register_with_loop();
  if (rc == 0) {
    connected();
    return;
  }
  connecting_ = true;
  timer_.arm(conf_.connect_timeout);
}

void ProxyRequest::connected() {
  connecting_ = false;
  if (conf_.tls && !conn_->tls()) {
    conn_->set_tls(TlsSession::connect(conf_.tls->get(), conn_->fd(), conf_.tls_sni,
                                       conf_.tls_verify_name));
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
    handshaking_ = true;
    timer_.arm(conf_.connect_timeout);
    continue_handshake();
    return;
  }
  upstream_readable_ = true;
  write_upstream();
}

void ProxyRequest::continue_handshake() {
  const int r = conn_->tls()->handshake();
  if (r == 0) return;  // the next event continues it
  handshaking_ = false;
  if (r < 0) {
    attempt_failed("TLS handshake failed: " + conn_->tls()->failure(), false);
    return;
  }
  upstream_readable_ = true;
  write_upstream();
}

void ProxyRequest::arm_io_timer() {
  bool pending = head_sent_ < head_.size() || body_sent_ < body_out_.size();
  timer_.arm(pending ? conf_.send_timeout : conf_.read_timeout);
}

void ProxyRequest::on_event(std::uint32_t events) {
  if (done_ || !conn_) return;
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(conn_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      attempt_failed(std::string("connect() failed: ") + std::strerror(err), false);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    connected();
    if (done_ || handshaking_) return;
  } else if (handshaking_) {
    continue_handshake();
    if (done_ || handshaking_) return;
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

void ProxyRequest::write_upstream() {
  while (!done_ && conn_ && !connecting_ && !handshaking_) {
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
    ssize_t n = conn_->tls() ? conn_->tls()->write(static_cast<const char*>(iov[0].iov_base),
                                                   iov[0].iov_len)
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
  if (done_ || !conn_ || connecting_ || handshaking_) return;
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
  if (conn_ && !connecting_) write_upstream();
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
  if (conn_ && !connecting_) write_upstream();
}

void ProxyRequest::on_client_writable() {
  if (done_) return;
  upstream_paused_ = false;
  if (conn_) read_upstream();
}

void ProxyRequest::on_client_gone() {
  ex_ = nullptr;
  if (done_) return;
  if (peer_) up_.group.release(*peer_);
  peer_ = nullptr;
  finish();
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
      if (ex_) ex_->end_response();
      finish();
      return;
    }
    if (response_started_ && n == 0) {
      // A body delimited by the end of the connection ends here (llhttp_finish runs the
      // message-complete callback, which pauses: its return value is not HPE_OK).
      llhttp_finish(&parser_);
      if (message_done_) {
        complete_response(true);
        return;
      }
    }
    if (response_started_) {
      spdlog::error("{}: {} in the middle of the response", describe(), why);
      if (ex_) ex_->abort_response();
      finish();
      return;
    }
    attempt_failed(why + " before sending a response", false);
    return;
  }
  // Bounded work per event: more may be readable; come back after other connections.
  if (!done_ && conn_ && upstream_readable_ && !upstream_paused_)
    loop_.defer([this] { if (!done_) read_upstream(); });
}

bool ProxyRequest::feed(const char* data, std::size_t len) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (done_) return false;
  if (err == HPE_OK) return true;
  const char* pos = llhttp_get_error_pos(&parser_);
  std::size_t used = pos ? static_cast<std::size_t>(pos - data) : len;
  if (err == HPE_PAUSED) {  // the response is complete
    complete_response(used < len);
    return false;
  }
  if (err == HPE_PAUSED_UPGRADE && switching_) {
    enter_tunnel(data + used, len - used);
    return !done_;
  }
  std::string reason = llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_)
                                                         : llhttp_errno_name(err);
  if (response_started_) {
    spdlog::error("{}: invalid response body: {}", describe(), reason);
    if (ex_) ex_->abort_response();
    finish();
    return false;
  }
  attempt_failed("invalid response: " + reason, false);
  return false;
}

int ProxyRequest::cb_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.in_value_ || s.headers_.empty()) {
    s.headers_.emplace_back();
    s.in_value_ = false;
  }
  s.headers_.back().name.append(at, len);
  return 0;
}

int ProxyRequest::cb_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.headers_.empty()) return -1;
  s.in_value_ = true;
  s.headers_.back().value.append(at, len);
  return 0;
}

int ProxyRequest::cb_headers_complete(llhttp_t* p) { return self(p).on_response_head(); }

int ProxyRequest::on_response_head() {
  int status = parser_.status_code;
  for (auto& h : headers_)
    while (!h.value.empty() && (h.value.back() == ' ' || h.value.back() == '\t')) h.value.pop_back();
  if (status >= 100 && status < 200 && status != 101) {
    interim_ = true;  // 100 Continue, 103 Early Hints: not forwarded
    return 0;
  }
  if (status == 101) {
    if (!upgrade_request_) return -1;
    switching_ = true;
    return 0;
  }
  up_.group.report_success(*peer_);
  Response head;
  head.status = status;
  head.headers = client_response_headers(headers_, false, conf_.hide_headers);
  std::optional<std::uint64_t> length;
  if ((parser_.flags & F_CONTENT_LENGTH) && !(parser_.flags & F_CHUNKED))
    length = parser_.content_length;
  else if (head_request_ || status == 204 || status == 304)
    length = 0;
  response_started_ = true;
  if (ex_) ex_->start_response(std::move(head), length);
  if (done_ || !ex_) return -1;
  // A response to HEAD has no body whatever its headers say.
  return head_request_ ? 1 : 0;
}

int ProxyRequest::cb_body(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.ex_ && !s.ex_->send_body({at, len})) s.upstream_paused_ = true;
  return s.done_ ? -1 : 0;
}

int ProxyRequest::cb_message_complete(llhttp_t* p) {
  auto& s = self(p);
  if (s.interim_) {
    s.interim_ = false;
    s.headers_.clear();
    s.in_value_ = false;
    return 0;
  }
  if (s.switching_) return 0;  // llhttp pauses with HPE_PAUSED_UPGRADE next
  s.message_done_ = true;
  return HPE_PAUSED;
}

void ProxyRequest::complete_response(bool leftover) {
  bool request_sent = head_sent_ == head_.size() && body_sent_ == body_out_.size() &&
                      request_body_end_;
  bool reusable = !leftover && request_sent && llhttp_should_keep_alive(&parser_) != 0 &&
                  !upgrade_request_;
  if (ex_)
    ex_->log_info().upstream_response_time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - started_).count();
  if (ex_) ex_->end_response();
  ex_ = nullptr;
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
  head.headers = client_response_headers(headers_, true, conf_.hide_headers);
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

bool ProxyRequest::replayable() const {
  // Never twice: a response byte already came, or request body bytes left with the failed
  // attempt (they are not kept), or a non-idempotent request reached a server that may have
  // acted on it.
  if (any_response_byte_ || body_bytes_written_ || response_started_) return false;
  return idempotent_ || head_sent_ == 0 || reused_;
}

void ProxyRequest::attempt_failed(const std::string& reason, bool timeout) {
  const bool stale = reused_ && !any_response_byte_ && !timeout && !response_started_;
  if (stale) {
    spdlog::info("{}: pooled connection was closed by the upstream ({}); retrying on a new one",
                 describe(), reason);
  } else {
    spdlog::error("{}: {}", describe(), reason);
  }
  close_upstream();
  if (peer_) {
    if (!stale && up_.group.report_failure(*peer_, loop_.now()))
      spdlog::warn("upstream \"{}\" server {} is marked down for {}ms", up_.config->name,
                   peer_->config->address.to_string(), peer_->config->fail_timeout.count());
    up_.group.release(*peer_);
    if (stale && peer_->index < 64) {
      tried_ &= ~(std::uint64_t{1} << peer_->index);  // the server itself did nothing wrong
      --tries_;
    }
    peer_ = nullptr;
  }
  if (!ex_) {
    finish();
    return;
  }
  if (response_started_) {
    ex_->abort_response();
    finish();
    return;
  }
  if (replayable() && (stale || tries_ < max_tries_)) {
    connect_next();
    return;
  }
  ex_->respond_error(timeout ? 504 : 502);
  finish();
}

void ProxyRequest::on_timer() {
  if (done_) return;
  if (connecting_) {
    attempt_failed("connect() timed out", true);
  } else if (handshaking_) {
    attempt_failed("TLS handshake timed out", true);
  } else if (tunnel_) {
    spdlog::info("{}: tunnel idle for {}ms, closing", describe(), conf_.read_timeout.count());
    if (ex_) ex_->end_response();
    finish();
  } else if (head_sent_ < head_.size() || body_sent_ < body_out_.size()) {
    attempt_failed("sending the request timed out", true);
  } else {
    attempt_failed("timed out waiting for the response", true);
  }
}

void ProxyRequest::close_upstream() {
  if (!conn_) return;
  retire_connection(loop_, std::move(conn_));
  connecting_ = false;
  handshaking_ = false;
}

void ProxyRequest::finish() {
  if (done_) return;
  done_ = true;
  if (ex_ && tries_ > 0)
    ex_->log_info().upstream_response_time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - started_).count();
  timer_.cancel();
  close_upstream();
  if (peer_) {
    up_.group.release(*peer_);
    peer_ = nullptr;
  }
  if (ex_) {
    // Ending without an answer is a bug somewhere; the client must not hang for it.
    if (!response_started_) ex_->respond_error(502); else ex_->abort_response();
    ex_ = nullptr;
  }
  loop_.defer([this] { delete this; });
}

}  // namespace serverd
