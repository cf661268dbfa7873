#pragma once
// One proxied request: pick a server, connect (or reuse a pooled connection), send the head and
// stream the request body, parse the response (http/response_parser) and stream it to the
// client with back-pressure both ways; retry on another server while that is safe; 502/504
// otherwise.
// After a 101 it becomes a byte tunnel (WebSocket). Its pieces: proxy_request.cpp (life, retries,
// timeouts), proxy_connect.cpp, proxy_send.cpp, proxy_response.cpp (response and tunnel).
#include <cstdint>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "event/loop.hpp"
#include "http/exchange.hpp"
#include "http/header_list.hpp"
#include "http/response_parser.hpp"
#include "upstream/keepalive_pool.hpp"

namespace serverd {

struct ProxyConf;
struct UpstreamRuntime;
struct UpstreamPeer;
class ProxyRuntime;

class ProxyRequest final : public ExchangeHandler, public EventHandler {
 public:
  static void start(Exchange& exchange, const ProxyConf& conf, UpstreamRuntime& upstream,
                    ProxyRuntime& runtime);
  ~ProxyRequest();

 private:
  ProxyRequest(Exchange& exchange, const ProxyConf& conf, UpstreamRuntime& upstream,
               ProxyRuntime& runtime);
  ProxyRequest(const ProxyRequest&) = delete;
  ProxyRequest& operator=(const ProxyRequest&) = delete;

  // ExchangeHandler
  void on_request_body(std::string_view chunk) override;
  void on_request_body_end() override;
  void on_client_writable() override;
  void on_client_gone() override;
  // Upstream socket
  void on_event(std::uint32_t events) override;
  void on_timer();

  void connect_next();
  void connected();
  void continue_handshake();
  void write_upstream();
  void read_upstream();
  bool feed(const char* data, std::size_t len);
  bool on_response_head();
  void complete_response(bool leftover);
  void enter_tunnel(const char* rest, std::size_t len);
  void attempt_failed(const std::string& reason, bool timeout);
  // A shortage in this worker (see local_shortage()): 502 at once, no server blamed.
  void fail_locally(const std::string& reason);
  bool replayable() const;
  void close_upstream();
  void finish();
  // Answers `status` (or cuts a started response), or ends the exchange, and then finish().
  void fail_exchange(int status);
  void end_exchange();
  void record_upstream_time();
  void arm_io_timer();
  std::string describe() const;

  Exchange* ex_;
  const ProxyConf& conf_;
  UpstreamRuntime& up_;
  EventLoop& loop_;
  Timer timer_;
  std::string method_;
  std::string target_;  // for log lines
  std::string client_ip_;
  std::string hash_key_;
  std::string head_;
  std::size_t head_sent_ = 0;
  std::string body_out_;  // request body bytes (framed) not yet written upstream
  std::size_t body_sent_ = 0;
  bool body_bytes_written_ = false;
  bool request_body_end_ = false;
  bool request_chunked_ = false;
  bool client_paused_ = false;
  bool upgrade_request_ = false;
  bool head_request_ = false;
  bool idempotent_ = false;

  UpstreamPeer* peer_ = nullptr;
  UpstreamConnectionPtr conn_;
  bool reused_ = false;
  // The upstream connection of the current attempt: none, a connect() in progress, the TLS
  // handshake, ready for the request.
  enum class Link : std::uint8_t { none, connecting, handshaking, ready };
  Link link_ = Link::none;
  bool upstream_readable_ = false;
  bool upstream_eof_seen_ = false;
  bool upstream_paused_ = false;  // the client's output is full
  bool shut_write_ = false;
  int tries_ = 0;
  int max_tries_ = 1;
  std::uint64_t tried_ = 0;
  Clock::time_point started_{};

  ResponseParser parser_;
  bool any_response_byte_ = false;
  bool response_started_ = false;
  bool tunnel_ = false;
  bool done_ = false;
};

}  // namespace serverd
