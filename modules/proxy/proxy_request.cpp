// ProxyRequest: its life. Building the upstream request, retrying on another server while that
// is safe, timeouts, and the end (502/504 when nothing was answered).
#include "modules/proxy/proxy_request.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "http/variables.hpp"
#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_headers.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

namespace {
bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}
}  // namespace

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

ProxyRequest::~ProxyRequest() {
  close_upstream();
}

std::string ProxyRequest::describe() const {
  std::string peer = peer_ ? peer_->config->address.to_string() : std::string("-");
  return fmt::format("upstream \"{}\" server {} (client {}, request \"{} {}\")", up_.config->name,
                     peer, client_ip_, method_, target_);
}

void ProxyRequest::on_client_gone() {
  ex_ = nullptr;
  if (done_) return;
  if (peer_) up_.group.release(*peer_);
  peer_ = nullptr;
  finish();
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
    fail_exchange(502);
    return;
  }
  if (replayable() && (stale || tries_ < max_tries_)) {
    connect_next();
    return;
  }
  fail_exchange(timeout ? 504 : 502);
}

void ProxyRequest::on_timer() {
  if (done_) return;
  if (link_ == Link::connecting) {
    attempt_failed("connect() timed out", true);
  } else if (link_ == Link::handshaking) {
    attempt_failed("TLS handshake timed out", true);
  } else if (tunnel_) {
    spdlog::info("{}: tunnel idle for {}ms, closing", describe(), conf_.read_timeout.count());
    end_exchange();
  } else if (head_sent_ < head_.size() || body_sent_ < body_out_.size()) {
    attempt_failed("sending the request timed out", true);
  } else {
    attempt_failed("timed out waiting for the response", true);
  }
}

void ProxyRequest::close_upstream() {
  if (!conn_) return;
  retire_connection(loop_, std::move(conn_));
  link_ = Link::none;
}

void ProxyRequest::record_upstream_time() {
  if (ex_ && tries_ > 0)
    ex_->log_info().upstream_response_time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - started_).count();
}

// The exchange is let go before it is answered: with keep-alive the connection may go straight
// on to its next request (pipelined bytes), which finish() must not answer a second time.
void ProxyRequest::fail_exchange(int status) {
  record_upstream_time();
  if (Exchange* ex = std::exchange(ex_, nullptr)) {
    if (response_started_)
      ex->abort_response();
    else
      ex->respond_error(status);
  }
  finish();
}

void ProxyRequest::end_exchange() {
  record_upstream_time();
  if (Exchange* ex = std::exchange(ex_, nullptr)) ex->end_response();
  finish();
}

void ProxyRequest::finish() {
  if (done_) return;
  done_ = true;
  record_upstream_time();
  timer_.cancel();
  close_upstream();
  if (peer_) {
    up_.group.release(*peer_);
    peer_ = nullptr;
  }
  if (ex_) {
    // Ending without an answer is a bug somewhere; the client must not hang for it.
    if (!response_started_)
      ex_->respond_error(502);
    else
      ex_->abort_response();
    ex_ = nullptr;
  }
  loop_.defer([this] { delete this; });
}

}  // namespace serverd
