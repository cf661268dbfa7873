// Request bodies are consumed exactly (Content-Length, chunked, Expect: 100-continue), so the
// next request on the connection is parsed from the right byte.
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

#include "harness/checks.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

struct BodyServer : it::TestServer {
  BodyServer()
      : it::TestServer(it::simple_config("client_max_body_size = \"1KiB\"\n",
                                         "  [[server.location]]\n"
                                         "  path = \"/r\"\n"
                                         "  return = { status = 200, body = \"r\\n\" }\n"
                                         "  [[server.location]]\n"
                                         "  path = \"/next\"\n"
                                         "  return = { status = 200, body = \"next\\n\" }\n"),
                       [](const it::TempDir& d) { d.write("html/index.html", "index\n"); }) {}
};

std::string post(std::string_view headers, std::string_view body) {
  return std::string("POST /r HTTP/1.1\r\nHost: localhost\r\n")
      .append(headers)
      .append("\r\n")
      .append(body);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(request_body, BodyServer)

BOOST_AUTO_TEST_CASE(content_length_body_is_consumed) {
  it::HttpConnection conn = connect();
  conn.send(post("Content-Length: 11\r\n", "hello world"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  conn.send(it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "next\n");
  // Body and the next request in one segment; the body looks like a request itself.
  const std::string fake = it::get_request("/r");
  conn.send(post("Content-Length: " + std::to_string(fake.size()) + "\r\n", fake) +
            it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  it::check_fixed_body(conn.expect_response(), "next\n");
  BOOST_TEST(conn.quiet_for(150ms));
}

BOOST_AUTO_TEST_CASE(body_arriving_in_pieces) {
  it::HttpConnection conn = connect();
  conn.send(post("Content-Length: 10\r\n", "01"));
  std::this_thread::sleep_for(50ms);
  conn.send("2345");
  std::this_thread::sleep_for(50ms);
  conn.send("6789" + it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  it::check_fixed_body(conn.expect_response(), "next\n");
}

BOOST_AUTO_TEST_CASE(chunked_body_is_consumed) {
  it::HttpConnection conn = connect();
  conn.send(post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") +
            it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  it::check_fixed_body(conn.expect_response(), "next\n");
  // Chunk extensions, upper-case hex and a trailer section.
  conn.send(post("Transfer-Encoding: chunked\r\n",
                 "A;name=value\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n") +
            it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  it::check_fixed_body(conn.expect_response(), "next\n");
  BOOST_TEST(conn.quiet_for(150ms));
}

BOOST_AUTO_TEST_CASE(expect_100_continue) {
  it::HttpConnection conn = connect();
  conn.send(post("Content-Length: 5\r\nExpect: 100-continue\r\n", ""));
  const it::Response interim = conn.expect_response();
  BOOST_TEST(interim.raw_head == "HTTP/1.1 100 Continue\r\n\r\n");
  conn.send("hello");
  it::check_fixed_body(conn.expect_response(), "r\n");
  conn.send(it::get_request("/next"));
  it::check_fixed_body(conn.expect_response(), "next\n");
}

BOOST_AUTO_TEST_CASE(expect_100_continue_over_the_limit_gets_413_without_100) {
  it::HttpConnection conn = connect();
  conn.send(post("Content-Length: 4096\r\nExpect: 100-continue\r\n", ""));
  const it::Response r = conn.expect_response();
  BOOST_TEST(r.status == 413, "got " << it::printable(r.raw_head));
}

BOOST_AUTO_TEST_SUITE_END()
