// Core limits and protocol errors: 414, 431, 413, 400 (and close), 408 timeouts, keep-alive
// timeout and keepalive_requests.
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

#include "harness/checks.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const char* const kLimits =
    "client_header_timeout = \"500ms\"\n"
    "client_body_timeout = \"500ms\"\n"
    "keepalive_timeout = \"500ms\"\n"
    "client_max_body_size = \"1KiB\"\n"
    "max_uri_length = \"1KiB\"\n"
    "max_header_size = \"4KiB\"\n";

const char* const kReturnR =
    "  [[server.location]]\n"
    "  path = \"/r\"\n"
    "  return = { status = 200, body = \"r\\n\" }\n";

struct LimitsServer : it::TestServer {
  LimitsServer()
      : it::TestServer(it::simple_config(kLimits, kReturnR),
                       [](const it::TempDir& d) { d.write("html/index.html", "index\n"); }) {}

  // The worker is up and serving (so timings measured afterwards are the server's own).
  void warm_up() const { BOOST_REQUIRE(get("/r").status == 200); }

  // Sends `request` on a fresh connection; returns the status (0 when no valid response).
  int status_of(std::string_view request) const {
    it::HttpConnection conn = connect();
    if (!conn.try_send(request)) return -1;
    const it::ReadResult r = conn.read_response();
    BOOST_TEST_MESSAGE("request " << it::printable(request, 120) << " -> "
                                  << it::to_string(r.status) << " " << r.response.status);
    return r.status == it::ReadStatus::ok ? r.response.status : 0;
  }
};

std::string post_r(std::string_view headers, std::string_view body = "") {
  return std::string("POST /r HTTP/1.1\r\nHost: localhost\r\n")
      .append(headers)
      .append("\r\n")
      .append(body);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(limits, LimitsServer)

BOOST_AUTO_TEST_CASE(uri_longer_than_max_uri_length_is_414) {
  const std::string ok_target = "/r" + std::string(1000, 'a');    // 1002 bytes <= 1 KiB
  const std::string long_target = "/r" + std::string(1100, 'a');  // 1102 bytes > 1 KiB
  BOOST_TEST(status_of(it::get_request(ok_target)) == 200);
  BOOST_TEST(status_of(it::get_request(long_target)) == 414);
  // Rejected as soon as the line is too long, not when it ends.
  BOOST_TEST(status_of("GET /r" + std::string(3000, 'a')) == 414);
}

BOOST_AUTO_TEST_CASE(header_block_larger_than_max_header_size_is_431) {
  BOOST_TEST(status_of(it::get_request("/r", "localhost",
                                       "X-Big: " + std::string(3000, 'b') + "\r\n")) == 200);
  BOOST_TEST(status_of(it::get_request("/r", "localhost",
                                       "X-Big: " + std::string(5000, 'b') + "\r\n")) == 431);
  std::string many;
  for (int i = 0; i < 250; ++i) many += "X-H" + std::to_string(i) + ": 0123456789\r\n";  // ~5 KiB
  BOOST_TEST(status_of(it::get_request("/r", "localhost", many)) == 431);
}

BOOST_AUTO_TEST_CASE(content_length_above_client_max_body_size_is_413) {
  BOOST_TEST(status_of(post_r("Content-Length: 1024\r\n", std::string(1024, 'x'))) == 200);
  // Refused from the headers alone: the body is never sent.
  BOOST_TEST(status_of(post_r("Content-Length: 1025\r\n")) == 413);
  BOOST_TEST(status_of(post_r("Content-Length: 10000000000\r\n")) == 413);
}

BOOST_AUTO_TEST_CASE(chunked_body_growing_beyond_the_limit_is_413) {
  const std::string chunk(600, 'c');
  BOOST_TEST(status_of(post_r("Transfer-Encoding: chunked\r\n",
                              "258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n")) == 413);
}

BOOST_AUTO_TEST_CASE(malformed_request_line_is_400_and_closed) {
  it::HttpConnection conn = connect();
  conn.send("GARBAGE\r\n\r\n");
  const it::Response r = conn.expect_response();
  BOOST_TEST(r.status == 400);
  it::check_common_headers(r);
  const it::CloseResult c = conn.wait_for_close(2s);
  BOOST_TEST(it::to_string(c.kind) == "fin");
  BOOST_TEST(c.data.empty(), "after the 400: " << it::printable(c.data));
}

BOOST_AUTO_TEST_CASE(ambiguous_framing_is_400) {
  BOOST_TEST(
      status_of(post_r("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")) == 400);
  BOOST_TEST(
      status_of(post_r("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n")) == 400);
  BOOST_TEST(status_of(post_r("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")) == 400);
  BOOST_TEST(status_of(post_r("Content-Length: abc\r\n", "hello")) == 400);
  BOOST_TEST(status_of(post_r("Content-Length: -1\r\n", "hello")) == 400);
}

BOOST_AUTO_TEST_CASE(invalid_header_field_names_are_400) {
  // RFC 9112 5.1: whitespace between field name and colon MUST be rejected with 400
  // (request smuggling); a field name is a non-empty token.
  const char* const bad[] = {"Host : localhost\r\n", "X-Bad : 1\r\n", "Bad Name: x\r\n",
                             ": empty-name\r\n",     "X\x7fY: z\r\n", "X(Y): z\r\n"};
  for (const char* header : bad) {
    BOOST_TEST_CONTEXT("header " << it::printable(header)) {
      BOOST_TEST(status_of("GET /r HTTP/1.1\r\nHost: localhost\r\n" + std::string(header) +
                           "\r\n") == 400);
    }
  }
}

BOOST_AUTO_TEST_CASE(incomplete_head_times_out_with_408_and_close) {
  warm_up();
  it::HttpConnection conn = connect();
  const auto start = std::chrono::steady_clock::now();
  conn.send("GET /r HT");
  const it::ReadResult r = conn.read_response(it::ReadOptions{false, 3s});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_TEST_REQUIRE(it::to_string(r.status) == "ok", r.error);
  BOOST_TEST(r.response.status == 408);
  BOOST_TEST(elapsed >= 400ms);
  BOOST_TEST(elapsed <= 2500ms);
  BOOST_TEST(it::to_string(conn.wait_for_close(2s).kind) == "fin");
}

BOOST_AUTO_TEST_CASE(stalled_body_ends_the_connection_after_client_body_timeout) {
  // The server may answer (a `return` needs no body) or not; either way it must not wait for
  // the rest of the body longer than client_body_timeout: a 408 if nothing was answered yet,
  // then a FIN.
  warm_up();
  it::HttpConnection conn = connect();
  const auto start = std::chrono::steady_clock::now();
  conn.send(post_r("Content-Length: 10\r\n", "01234"));
  const it::ReadResult r = conn.read_response(it::ReadOptions{false, 3s});
  BOOST_TEST_REQUIRE(it::to_string(r.status) == "ok", r.error);
  BOOST_TEST((r.response.status == 408 || r.response.status == 200),
             "status " << r.response.status);
  if (r.response.status == 200) BOOST_TEST(r.response.body == "r\n");
  BOOST_TEST(it::to_string(conn.wait_for_close(3s).kind) == "fin");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_TEST(elapsed >= 400ms);
  BOOST_TEST(elapsed <= 2500ms);
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_gets_a_fin_after_keepalive_timeout) {
  warm_up();
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/r"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  const it::CloseResult c = conn.wait_for_close(3s);
  BOOST_TEST(it::to_string(c.kind) == "fin");
  BOOST_TEST(c.data.empty(), "sent on an idle connection: " << it::printable(c.data));
  BOOST_TEST(c.elapsed.count() >= 400);
  BOOST_TEST(c.elapsed.count() <= 2500);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits_keepalive_requests)

BOOST_AUTO_TEST_CASE(last_allowed_request_gets_connection_close) {
  it::TestServer server(it::simple_config("keepalive_requests = 3\n", kReturnR),
                        [](const it::TempDir& d) { d.write("html/index.html", "index\n"); });
  it::HttpConnection conn = server.connect();
  for (int i = 1; i <= 3; ++i) {
    BOOST_TEST_CONTEXT("request " << i) {
      conn.send(it::get_request("/r"));
      const it::Response r = conn.expect_response();
      it::check_fixed_body(r, "r\n");
      BOOST_TEST((r.header("Connection").value_or("") == "close") == (i == 3));
    }
  }
  BOOST_TEST(it::to_string(conn.wait_for_close(2s).kind) == "fin");
}

BOOST_AUTO_TEST_SUITE_END()
