#pragma once
// One client connection: the HTTP/1.1 state machine. Reads with edge-triggered epoll, parses
// with llhttp (RequestParser), routes, calls the location's content module, writes the response
// with writev/sendfile, then keeps the connection alive (pipelined bytes are parsed right away),
// or closes it gracefully: shutdown(SHUT_WR) and a bounded "lingering" read so the client gets a
// FIN after the last byte, never a reset that could destroy the response in flight.
// Its pieces: connection.cpp (life and the work loop), connection_io.cpp (socket reads and
// writes), connection_request.cpp (parse, route, dispatch, end of an exchange),
// connection_response.cpp (complete answers), connection_stream.cpp (the streaming Exchange API).
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/address.hpp"
#include "core/unique_fd.hpp"
#include "event/buffer.hpp"
#include "event/loop.hpp"
#include "http/exchange.hpp"
#include "http/request_parser.hpp"
#include "http/response_head.hpp"

namespace serverd {

class HttpServer;
class TlsSession;
class ServerIndex;
struct RequestSlot;

class Connection final : public EventHandler, public Exchange, private BodySink {
 public:
  Connection(HttpServer& owner, UniqueFd fd, const SocketAddress& peer, const SocketAddress& local,
             const ServerIndex& servers, std::unique_ptr<TlsSession> tls = nullptr);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Graceful shutdown of this connection: an idle one is closed now; a busy one finishes the
  // current exchange, answers it with "Connection: close", and closes.
  void drain();
  // Closes at once (fast shutdown).
  void abort() { close(); }
  bool closed() const { return phase_ == Phase::closed; }
  bool idle() const;

  // Exchange
  const Request& request() const override;
  const ServerConfig& server() const override { return *server_conf_; }
  const LocationConfig& location() const override { return *location_; }
  EventLoop& loop() override;
  WorkerContext& worker() override;
  std::string_view scheme() const override { return tls_ ? "https" : "http"; }
  ExchangeLog& log_info() override { return log_; }
  void respond(Response&& response) override;
  // Streaming (connection_stream.cpp)
  void attach(ExchangeHandler* handler) override { async_ = handler; }
  void pause_request_body(bool paused) override;
  void start_response(Response&& head, std::optional<std::uint64_t> content_length) override;
  bool send_body(std::string_view data) override;
  void end_response() override;
  void abort_response() override;
  void start_tunnel(Response&& head) override;
  void set_output_bound(std::size_t bytes) override { output_bound_ = bytes; }

  // The owner's intrusive list of live connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  void on_event(std::uint32_t events) override;
  void on_body(std::string_view chunk) override;
  void on_timeout();

  void process();
  void run();
  bool tls_handshake();
  ssize_t send_output(const iovec* iov, int count, int flags);
  bool fill_from_file();
  bool read_input();
  void parse_input();
  void on_head();
  void call_handler();
  void end_exchange();
  void go_idle();
  void fail(int status, std::string_view reason);

  void append_output(std::string_view bytes);
  bool output_pending() const;
  std::size_t output_bytes() const { return out_.size() + overflow_.size() - overflow_sent_; }
  void begin_response(Response& response);
  bool run_tunnel();
  void notify_gone();
  void log_once();
  void schedule_flush();
  bool flush();
  void write_head(const Response& response, std::uint64_t content_length, BodyFraming framing);
  void set_body(Response& response);

  void start_lingering_close();
  void linger();
  void close();
  void release_slot();
  void close_after_output();
  const HttpLimits& last_limits() const;

  HttpServer& owner_;
  UniqueFd fd_;
  SocketAddress peer_;
  SocketAddress local_;
  const ServerIndex& servers_;
  std::unique_ptr<TlsSession> tls_;  // nullptr: plain HTTP
  Timer timer_;
  Buffer in_;
  Buffer out_;
  std::string overflow_;  // output that did not fit the out_ block (rare: big heads/bodies)
  std::size_t overflow_sent_ = 0;
  UniqueFd file_;
  std::uint64_t file_offset_ = 0;
  std::uint64_t file_left_ = 0;

  RequestSlot* slot_ = nullptr;  // held only while a request is in progress
  const ServerConfig* server_conf_ = nullptr;
  const LocationConfig* location_ = nullptr;

  ExchangeHandler* async_ = nullptr;
  ExchangeLog log_;
  std::size_t output_bound_ = 64 * 1024;
  Clock::time_point linger_deadline_{};
  std::uint32_t requests_ = 0;
  // Where the connection is in its life. Inside an exchange the request's and the response's
  // progress are independent (a handler may answer before the body is in, or stream while it
  // arrives), so those stay bits below.
  enum class Phase : std::uint8_t {
    idle,       // no request in progress: a fresh or an idle keep-alive connection
    head,       // request bytes arrived (a slot is held), the head is not complete
    exchange,   // routed: the body is read, the handler answers
    tunnel,     // after a 101: bytes both ways until one side ends
    closing,    // the last output drains, then lingering
    lingering,  // FIN sent; reading and dropping until the client closes
    closed,
  };
  Phase phase_ : 3 = Phase::idle;
  // The answer to the current request: none yet, its head is out (streaming), or all of it.
  enum class Answer : std::uint8_t { none, started, done };
  Answer answer_ : 2 = Answer::none;
  // How a streamed body goes out: as given (Content-Length or until the close), chunked, or not
  // at all (HEAD, 204, 304).
  enum class StreamBody : std::uint8_t { as_is, chunked, dropped };
  StreamBody stream_body_ : 2 = StreamBody::as_is;
  // Bits: an idle keep-alive connection is mostly this object, so its size is the idle memory
  // per connection.
  bool logged_ : 1 = false;
  bool body_paused_ : 1 = false;
  bool want_writable_ : 1 = false;
  bool tunnel_eof_sent_ : 1 = false;
  bool flush_scheduled_ : 1 = false;
  bool readable_ : 1 = true;
  bool eof_seen_ : 1 = false;  // edge-triggered: the socket may hold unread bytes
  bool in_process_ : 1 = false;
  bool handler_called_ : 1 = false;
  bool message_done_ : 1 = false;
  bool keep_alive_ : 1 = false;
  bool draining_ : 1 = false;
  bool peer_closed_ : 1 = false;
};

}  // namespace serverd
