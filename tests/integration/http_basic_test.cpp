// HTTP/1.x basics: common headers, keep-alive, HTTP/1.0, Connection: close, pipelining, HEAD,
// the `return` module.
#include <boost/test/unit_test.hpp>
#include <string>

#include "harness/checks.hpp"
#include "harness/process_runner.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const char* const kIndex = "<!doctype html>\n<html><body>serverd index</body></html>\n";

std::string basic_locations() {
  std::string l;
  for (const auto& [path, body] : {std::pair<const char*, const char*>{"/a", "A\\n"},
                                   {"/b", "BB\\n"},
                                   {"/c", "CCC\\n"},
                                   {"/hi", "hi\\n"}}) {
    l += std::string("  [[server.location]]\n  path = \"") + path +
         "\"\n  match = \"exact\"\n  return = { status = 200, body = \"" + body + "\" }\n";
  }
  l += "  [[server.location]]\n"
       "  path = \"/old\"\n"
       "  return = { status = 301, location = \"/new\" }\n";
  return l;
}

struct BasicServer : it::TestServer {
  BasicServer()
      : it::TestServer(it::simple_config("", basic_locations()),
                       [](const it::TempDir& d) { d.write("html/index.html", kIndex); }) {}
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(http_basic, BasicServer)

BOOST_AUTO_TEST_CASE(return_body_with_common_headers) {
  const it::Response r = get("/hi");
  check_fixed_body(r, "hi\n");
  it::check_common_headers(r);
  BOOST_TEST(r.version == "HTTP/1.1");
  BOOST_TEST(r.reason == "OK");
  BOOST_TEST(!r.chunked);
}

BOOST_AUTO_TEST_CASE(return_redirect_carries_location) {
  for (const char* target : {"/old", "/old/page?x=1"}) {
    BOOST_TEST_CONTEXT("GET " << target) {
      const it::Response r = get(target);
      BOOST_TEST(r.status == 301);
      const std::string loc = r.header("Location").value_or("<none>");
      BOOST_TEST(it::redirect_target_is(loc, "/new", port()), "Location: " << loc);
      it::check_common_headers(r);
      BOOST_TEST(r.header_count("Content-Length") == 1U);
    }
  }
}

BOOST_AUTO_TEST_CASE(keep_alive_connection_is_reused) {
  it::HttpConnection conn = connect();
  const std::pair<const char*, const char*> steps[] = {
      {"/a", "A\n"}, {"/b", "BB\n"}, {"/c", "CCC\n"}, {"/hi", "hi\n"}, {"/a", "A\n"}};
  for (const auto& [target, body] : steps) {
    BOOST_TEST_CONTEXT("GET " << target) {
      conn.send(it::get_request(target));
      const it::Response r = conn.expect_response();
      it::check_fixed_body(r, body);
      BOOST_TEST(!it::contains(r.header("Connection").value_or(""), "close"));
    }
  }
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/c") + it::get_request("/a") + it::get_request("/b"));
  it::check_fixed_body(conn.expect_response(), "CCC\n");
  it::check_fixed_body(conn.expect_response(), "A\n");
  it::check_fixed_body(conn.expect_response(), "BB\n");
  BOOST_TEST(conn.quiet_for(150ms));
}

BOOST_AUTO_TEST_CASE(http10_closes_after_the_response) {
  it::HttpConnection conn = connect();
  conn.send("GET /hi HTTP/1.0\r\n\r\n");
  const it::Response r = conn.expect_response();
  it::check_fixed_body(r, "hi\n");
  const it::CloseResult c = conn.wait_for_close(2s);
  BOOST_TEST(it::to_string(c.kind) == "fin");
  BOOST_TEST(c.data.empty());
}

BOOST_AUTO_TEST_CASE(http10_keep_alive_on_request) {
  it::HttpConnection conn = connect();
  conn.send("GET /hi HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const it::Response r = conn.expect_response();
  it::check_fixed_body(r, "hi\n");
  BOOST_TEST(it::contains(r.header("Connection").value_or(""), "eep-alive"));
  conn.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  it::check_fixed_body(conn.expect_response(), "A\n");
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/hi", "localhost", "Connection: close\r\n"));
  const it::Response r = conn.expect_response();
  it::check_fixed_body(r, "hi\n");
  BOOST_TEST(r.header("Connection").value_or("<none>") == "close");
  BOOST_TEST(it::to_string(conn.wait_for_close(2s).kind) == "fin");
}

BOOST_AUTO_TEST_CASE(head_has_get_headers_and_no_body) {
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/index.html"));
  const it::Response get_r = conn.expect_response();
  it::check_fixed_body(get_r, kIndex);

  conn.send(it::make_request("HEAD", "/index.html"));
  const it::Response head_r = conn.expect_head_response();
  BOOST_TEST(head_r.status == 200);
  BOOST_TEST(head_r.body.empty());
  for (const char* h : {"Content-Length", "Content-Type", "ETag", "Last-Modified"}) {
    BOOST_TEST(head_r.header(h).value_or("<none>") == get_r.header(h).value_or("<none>"),
               "header " << h);
  }
  BOOST_TEST(head_r.header("Content-Length").value_or("") ==
             std::to_string(std::string(kIndex).size()));
  BOOST_TEST(conn.quiet_for(200ms),
             "body bytes after a HEAD response: " << it::printable(conn.buffered()));
  // The next response on the connection starts right where the HEAD response ended.
  conn.send(it::get_request("/hi"));
  it::check_fixed_body(conn.expect_response(), "hi\n");

  conn.send(it::make_request("HEAD", "/hi"));
  const it::Response head_ret = conn.expect_head_response();
  BOOST_TEST(head_ret.status == 200);
  BOOST_TEST(head_ret.header("Content-Length").value_or("<none>") == "3");
  conn.send(it::get_request("/a"));
  it::check_fixed_body(conn.expect_response(), "A\n");
}

BOOST_AUTO_TEST_CASE(curl_reuses_the_connection) {
  const std::string base = "http://127.0.0.1:" + std::to_string(port());
  const it::CommandResult r = it::run_command(
      {"/usr/bin/curl", "-sS", "-v", "--max-time", "5", base + "/a", base + "/index.html"}, 10s);
  BOOST_TEST_CONTEXT("curl stderr: " << r.err) {
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == std::string("A\n") + kIndex);
    BOOST_TEST(it::contains(r.err, "Re-using existing connection"));
    BOOST_TEST(!it::contains(r.err, "Connection died"));
  }
}

BOOST_AUTO_TEST_CASE(host_header_rules) {
  // RFC 9112 3.2: an HTTP/1.1 request without Host, or with two, is a 400.
  BOOST_TEST(fetch("GET /hi HTTP/1.1\r\n\r\n").status == 400);
  BOOST_TEST(fetch("GET /hi HTTP/1.1\r\nHost: localhost\r\nHost: other\r\n\r\n").status == 400);
  // Absolute-form target.
  it::check_fixed_body(fetch("GET http://localhost/hi HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                       "hi\n");
}

BOOST_AUTO_TEST_SUITE_END()
