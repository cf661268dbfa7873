#pragma once
// What a content handler sees of one request: the request, where it was routed, and how to
// answer: at once with a complete Response, or streamed (the proxy) with bounded memory.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "event/timer.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace serverd {

class EventLoop;
class WorkerContext;

// What the access log needs to know about one exchange besides the request itself.
struct ExchangeLog {
  Clock::time_point start{};          // first byte of the request
  int status = 0;                     // 0: no response was sent
  std::uint64_t body_bytes_sent = 0;  // response body bytes queued for the client
  std::string upstream_addr;          // set by the proxy: "127.0.0.1:9000"
  std::int64_t upstream_response_time_us = -1;
  bool aborted = false;  // the response could not be completed
};

// The connection's side of an asynchronous exchange, as seen by the handler.
class ExchangeHandler {
 public:
  // Request body bytes, in order (already de-chunked). Only after attach().
  virtual void on_request_body(std::string_view chunk) = 0;
  virtual void on_request_body_end() = 0;
  // The client's output queue drained below the limit after send_body() returned false.
  virtual void on_client_writable() = 0;
  // The client connection ended (or the worker is stopping). The exchange is gone when this
  // returns: no more calls in either direction.
  virtual void on_client_gone() = 0;

 protected:
  ~ExchangeHandler() = default;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  virtual const ServerConfig& server() const = 0;
  virtual const LocationConfig& location() const = 0;
  virtual EventLoop& loop() = 0;
  virtual WorkerContext& worker() = 0;
  // "http" or "https".
  virtual std::string_view scheme() const = 0;
  // Filled by the HTTP layer; handlers add what only they know (the upstream's address).
  virtual ExchangeLog& log_info() = 0;

  // Sends a complete response. Call at most once per exchange.
  virtual void respond(Response&& response) = 0;
  void respond_error(int status) { respond(make_error_response(status)); }

  // --- Streaming (asynchronous handlers) ---
  // From now on the handler gets the request body and the connection's events.
  virtual void attach(ExchangeHandler* handler) = 0;
  // Back-pressure on the request body: stop (and resume) reading from the client.
  virtual void pause_request_body(bool paused) = 0;
  // The head now; the body follows through send_body(). With no content_length, HTTP/1.1
  // clients get chunked encoding and HTTP/1.0 clients a body delimited by closing.
  virtual void start_response(Response&& head, std::optional<std::uint64_t> content_length) = 0;
  // Queues body bytes (always accepted); false when more than the configured bound is queued:
  // stop producing until on_client_writable().
  virtual bool send_body(std::string_view data) = 0;
  virtual void end_response() = 0;
  // The response cannot be completed: the client connection is closed after what was sent.
  virtual void abort_response() = 0;
  // 101 Switching Protocols: after this head, bytes flow unframed both ways (on_request_body /
  // send_body) until end_response() or on_request_body_end().
  virtual void start_tunnel(Response&& head) = 0;
  // The bound on queued response bytes for send_body() (e.g. proxy_buffer_size).
  virtual void set_output_bound(std::size_t /*bytes*/) {}
};

}  // namespace serverd
