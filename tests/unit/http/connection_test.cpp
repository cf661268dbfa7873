// The connection state machine driven for real: an HttpServer on a loopback listener, the real
// event loop pumped by the test, a client socket in the same thread, the real return module.
#include "http/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "core/config_loader.hpp"
#include "core/unique_fd.hpp"
#include "event/loop.hpp"
#include "http/response_parser.hpp"
#include "http/server.hpp"
#include "modules/modules.hpp"
#include "process/worker_context.hpp"

namespace serverd {
namespace {

using namespace std::chrono_literals;

struct ParsedResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (const auto& h : headers)
      if (iequals(h.name, name)) return h.value;
    return "<absent>";
  }
};

// A loopback listener on a free port, an HttpServer serving `server_lines` + three return
// locations (/a, /b, /c answer "a", "b", "c") on it, and the loop the test pumps.
class Harness {
 public:
  explicit Harness(std::string_view server_lines = "") {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    BOOST_REQUIRE(listener_);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(listener_.get(), 16) == 0);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    const std::string listen = "127.0.0.1:" + std::to_string(port_);

    std::string text = "[[server]]\nlisten = [\"" + listen + "\"]\nserver_name = [\"localhost\"]\n";
    text += server_lines;
    for (const char* p : {"a", "b", "c"}) {
      text += std::string("\n  [[server.location]]\n  path = \"/") + p +
              "\"\n  return = { status = 200, body = \"" + p + "\" }\n";
    }
    LoadResult loaded = load_config_text(text, "test.toml", "/tmp", builtin_modules());
    BOOST_REQUIRE_MESSAGE(loaded.config, loaded.errors.to_string());
    config_ = loaded.config;
    worker_ = std::make_unique<WorkerContext>(loop_, *config_, 0);
    server_ = std::make_unique<HttpServer>(loop_, config_, builtin_modules(), *worker_);
    const auto address = parse_listen_address(listen, nullptr);
    BOOST_REQUIRE(address.has_value());
    server_->add_listener(listener_.get(), *address, false);
  }
  ~Harness() {
    server_.reset();  // connections go before the loop they are registered with
  }

  HttpServer& server() { return *server_; }
  EventLoop& loop() { return loop_; }
  // The server owns the listening descriptor from here on (shutdown_gracefully closes it).
  void give_listener_to_server() { listener_.release(); }

  UniqueFd connect() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    BOOST_REQUIRE(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    const int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    BOOST_REQUIRE(rc == 0 || errno == EINPROGRESS);
    pump_until([&] { return server_->connection_count() > 0; }, 2s);
    return fd;
  }

  void send(const UniqueFd& fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        loop_.run_once(5);
        continue;
      }
      BOOST_REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Runs the loop until `done()` or `limit` has passed; returns done().
  template <typename Pred>
  bool pump_until(Pred done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      loop_.run_once(5);
    }
    return true;
  }

  // Reads whatever the client socket holds; sets `eof` when the server closed.
  void drain_client(const UniqueFd& fd, std::string& into, bool& eof) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) eof = true;
      return;
    }
  }

  // The next whole response on `fd` (bytes after it stay in `pending`), within 3 s.
  std::optional<ParsedResponse> read_response(const UniqueFd& fd) {
    ResponseParser parser;
    parser.start(false, false);
    ParsedResponse out;
    bool complete = false;
    bool eof = false;
    std::size_t used = 0;
    auto step = [&] {
      bool need_more = false;
      while (!complete && !need_more) {
        const auto r = parser.feed(std::string_view(pending_).substr(used));
        used += r.consumed;
        switch (r.event) {
          case ResponseParser::Event::need_more:
            need_more = true;
            break;
          case ResponseParser::Event::head:
            out.status = parser.status();
            out.headers = parser.headers();
            break;
          case ResponseParser::Event::body:
            out.body.append(r.body);
            break;
          case ResponseParser::Event::complete:
            complete = true;
            break;
          case ResponseParser::Event::upgrade:
          case ResponseParser::Event::error:
            BOOST_FAIL("unparsable response: " << pending_);
        }
      }
    };
    pump_until(
        [&] {
          std::string fresh;
          drain_client(fd, fresh, eof);
          pending_ += fresh;
          step();
          return complete || eof;
        },
        3s);
    // The response may be the last thing before the close.
    if (!complete && eof && parser.finish()) complete = true;
    pending_.erase(0, used);
    if (!complete) return std::nullopt;
    return out;
  }

  // True when the server closes `fd` (FIN, nothing more sent) within `limit`.
  bool closed_within(const UniqueFd& fd, std::chrono::milliseconds limit) {
    bool eof = false;
    std::string extra;
    pump_until(
        [&] {
          drain_client(fd, extra, eof);
          return eof;
        },
        limit);
    BOOST_TEST(extra.empty(), "sent before the close: " << extra);
    return eof;
  }

  // True when `fd` stays open and quiet for `duration`.
  bool open_for(const UniqueFd& fd, std::chrono::milliseconds duration) {
    bool eof = false;
    std::string extra;
    pump_until(
        [&] {
          drain_client(fd, extra, eof);
          return eof || !extra.empty();
        },
        duration);
    return !eof && extra.empty();
  }

 private:
  EventLoop loop_;
  UniqueFd listener_;
  int port_ = 0;
  ConfigPtr config_;
  std::unique_ptr<WorkerContext> worker_;
  std::unique_ptr<HttpServer> server_;
  std::string pending_;
};

long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

std::string get(std::string_view path, std::string_view extra = "") {
  return std::string("GET ")
      .append(path)
      .append(" HTTP/1.1\r\nHost: localhost\r\n")
      .append(extra)
      .append("\r\n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connection_state_machine)

BOOST_AUTO_TEST_CASE(keep_alive_sequence_on_one_connection) {
  Harness h;
  UniqueFd c = h.connect();
  for (const char* p : {"a", "b", "c", "a"}) {
    BOOST_TEST_CONTEXT("request /" << p) {
      h.send(c, get(std::string("/") + p));
      const auto r = h.read_response(c);
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(r->status == 200);
      BOOST_TEST(r->body == p);
      BOOST_TEST(r->header("Connection") == "<absent>");
      BOOST_TEST(r->header("Content-Length") == "1");
    }
  }
  BOOST_TEST(h.open_for(c, 100ms));
  BOOST_TEST(h.server().connection_count() == 1u);
}

BOOST_AUTO_TEST_CASE(http10_keep_alive_is_answered_with_keep_alive) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->header("Connection") == "keep-alive");
  h.send(c, "GET /b HTTP/1.0\r\n\r\n");  // no keep-alive asked: the last one
  r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "b");
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(h.closed_within(c, 2s));
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/c") + get("/a") + get("/nothing-here") + get("/b"));
  for (const char* expected : {"c", "a", "", "b"}) {
    BOOST_TEST_CONTEXT("expected " << expected) {
      const auto r = h.read_response(c);
      BOOST_REQUIRE(r.has_value());
      if (*expected == '\0') {
        BOOST_TEST(r->status == 404);
      } else {
        BOOST_TEST(r->status == 200);
        BOOST_TEST(r->body == expected);
      }
    }
  }
  BOOST_TEST(h.open_for(c, 100ms));
}

BOOST_AUTO_TEST_CASE(pipelined_request_after_a_close_is_not_answered) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/a", "Connection: close\r\n") + get("/b"));
  const auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "a");
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(h.closed_within(c, 2s));
}

BOOST_AUTO_TEST_CASE(malformed_request_gets_400_and_close) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/a"));
  BOOST_REQUIRE(h.read_response(c).has_value());
  h.send(c, "GET /a HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n\r\n" + get("/b"));
  const auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->status == 400);
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(h.closed_within(c, 2s));  // the pipelined /b is not answered
  // Lingering: the server reads until the client closes too, then lets go of the connection.
  BOOST_TEST(h.server().connection_count() == 1u);
  c.reset();
  BOOST_TEST(h.pump_until([&] { return h.server().connection_count() == 0; }, 2s));
}

BOOST_AUTO_TEST_CASE(stalled_request_head_gets_408_and_close) {
  Harness h("client_header_timeout = \"200ms\"\n");
  UniqueFd c = h.connect();
  const auto start = std::chrono::steady_clock::now();
  h.send(c, "GET /a HTTP/1.1\r\nHost: loc");
  const auto r = h.read_response(c);
  const long long elapsed = ms_since(start);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->status == 408);
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(elapsed >= 150);
  BOOST_TEST(h.closed_within(c, 2s));
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed_after_keepalive_timeout) {
  Harness h("keepalive_timeout = \"200ms\"\n");
  UniqueFd c = h.connect();
  h.send(c, get("/a"));
  BOOST_REQUIRE(h.read_response(c).has_value());
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(h.closed_within(c, 2s));
  BOOST_TEST(ms_since(start) >= 150);
}

BOOST_AUTO_TEST_CASE(draining_answers_the_next_request_with_connection_close) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/a"));
  auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->header("Connection") == "<absent>");
  h.give_listener_to_server();
  h.server().shutdown_gracefully();
  // Within the grace period a request is still answered, as the last one.
  h.send(c, get("/b"));
  r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "b");
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(h.closed_within(c, 2s));
}

BOOST_AUTO_TEST_CASE(draining_busy_connection_finishes_with_connection_close) {
  Harness h;
  UniqueFd c = h.connect();
  // A request head in flight when the drain starts is finished and answered, as the last one.
  h.send(c, "GET /c HTTP/1.1\r\n");
  BOOST_TEST(!h.pump_until([] { return false; }, 50ms));
  h.give_listener_to_server();
  h.server().shutdown_gracefully();
  h.send(c, "Host: localhost\r\n\r\n");
  const auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "c");
  BOOST_TEST(r->header("Connection") == "close");
  BOOST_TEST(h.closed_within(c, 2s));
}

BOOST_AUTO_TEST_CASE(idle_connection_while_draining_gets_a_fin_after_the_grace) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/a"));
  BOOST_REQUIRE(h.read_response(c).has_value());
  h.give_listener_to_server();
  h.server().shutdown_gracefully();
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(h.closed_within(c, 3s));
  const long long elapsed = ms_since(start);
  BOOST_TEST(elapsed >= 800);  // the 1 s grace for a request already on its way
  BOOST_TEST(elapsed <= 2500);
}

BOOST_AUTO_TEST_CASE(request_split_into_pieces_is_answered_once_complete) {
  Harness h;
  UniqueFd c = h.connect();
  const std::string req = get("/b");
  for (std::size_t i = 0; i < req.size(); i += 7) {
    h.send(c, std::string_view(req).substr(i, 7));
    h.pump_until([] { return false; }, 5ms);
  }
  const auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "b");
}

BOOST_AUTO_TEST_CASE(half_closed_client_still_gets_its_answer) {
  Harness h;
  UniqueFd c = h.connect();
  h.send(c, get("/c"));
  BOOST_REQUIRE(::shutdown(c.get(), SHUT_WR) == 0);
  const auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "c");
  BOOST_TEST(h.closed_within(c, 2s));
  BOOST_TEST(h.pump_until([&] { return h.server().connection_count() == 0; }, 2s));
}

BOOST_AUTO_TEST_CASE(request_with_a_body_then_the_next_on_the_same_connection) {
  Harness h;
  UniqueFd c = h.connect();
  // The return handler ignores the body; it is read and dropped so the next request parses.
  h.send(c, "POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello" + get("/b"));
  auto r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "a");
  r = h.read_response(c);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->body == "b");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
