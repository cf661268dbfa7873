// What crosses the proxy: the request line and headers as the upstream receives them, and the
// response headers as the client receives them.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;

namespace {

struct HeaderProxy {
  it::TestBackend backend{it::BackendOptions{"b1"}};
  it::TestServer server{px::config(
      px::upstream("app", {backend.address()}, "keepalive = 8"),
      px::location("/set/", "http://app",
                   "proxy_set_header = { \"Host\" = \"internal.app\", \"User-Agent\" = \"\", "
                   "\"X-Client\" = \"$remote_addr $scheme $request_method\" }") +
          px::location("/", "http://app", "proxy_hide_header = [\"X-Secret\"]"))};
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(proxy_headers, HeaderProxy)

BOOST_AUTO_TEST_CASE(request_line_and_headers_arrive_faithfully) {
  const std::string request =
      "GET /echo/h%20x/../y?x=1&y=%41 HTTP/1.1\r\n"
      "Host: example.test:8080\r\n"
      "Connection: keep-alive, X-Hop-Req\r\n"
      "X-Hop-Req: secret\r\n"
      "Keep-Alive: timeout=5\r\n"
      "TE: trailers\r\n"
      "Upgrade: h2c\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "X-Forwarded-For: 203.0.113.9\r\n"
      "X-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: evil.example\r\n"
      "X-Real-IP: 6.6.6.6\r\n"
      "X-Custom: one\r\n"
      "User-Agent: proxy-test/1\r\n"
      "X-Custom: two\r\n"
      "Accept: */*\r\n"
      "\r\n";
  const it::Response r = server.fetch(request);
  BOOST_TEST_REQUIRE(r.status == 200, "status " << r.status << "\n" << server.diagnostics());
  const it::Echo e = it::parse_echo(r.body);
  BOOST_TEST_CONTEXT("upstream saw:\n" << r.body) {
    BOOST_TEST(e.server == "b1");
    BOOST_TEST(e.method == "GET");
    BOOST_TEST(e.target == "/echo/h%20x/../y?x=1&y=%41");  // as received, not normalised
    BOOST_TEST(e.version == "HTTP/1.1");
    BOOST_TEST(e.header_count("Host") == 1U);
    BOOST_TEST(e.header("Host").value_or("<none>") == "example.test:8080");
    // Hop-by-hop: gone, and the Connection header is the proxy's own.
    BOOST_TEST(e.header_count("Connection") <= 1U);
    BOOST_TEST(e.header("Connection").value_or("keep-alive") == "keep-alive");
    for (const char* h : {"X-Hop-Req", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization",
                          "Proxy-Connection", "Transfer-Encoding", "Content-Length"}) {
      BOOST_TEST(e.header_count(h) == 0U, h << " reached the upstream");
    }
    BOOST_TEST(e.framing == "none");
    BOOST_TEST(e.body_length == 0U);
    // Forwarding headers: appended / the proxy's own.
    BOOST_TEST(e.header_count("X-Forwarded-For") == 1U);
    BOOST_TEST(e.header("X-Forwarded-For").value_or("") == "203.0.113.9, 127.0.0.1");
    BOOST_TEST(e.header_count("X-Forwarded-Proto") == 1U);
    BOOST_TEST(e.header("X-Forwarded-Proto").value_or("") == "http");
    BOOST_TEST(e.header_count("X-Forwarded-Host") == 1U);
    BOOST_TEST(e.header("X-Forwarded-Host").value_or("") == "example.test:8080");
    BOOST_TEST(e.header_count("X-Real-IP") == 1U);
    BOOST_TEST(e.header("X-Real-IP").value_or("") == "127.0.0.1");
    // End-to-end headers: all of them, repeated ones in order.
    BOOST_TEST(e.header_count("X-Custom") == 2U);
    std::vector<std::string> custom;
    for (const auto& [n, v] : e.headers)
      if (n == "X-Custom") custom.push_back(v);
    BOOST_TEST((custom == std::vector<std::string>{"one", "two"}));
    BOOST_TEST(e.header("User-Agent").value_or("") == "proxy-test/1");
    BOOST_TEST(e.header("Accept").value_or("") == "*/*");
  }
}

BOOST_AUTO_TEST_CASE(proxy_set_header_overrides_adds_and_removes) {
  const it::Response r = server.fetch(
      it::get_request("/set/x", "localhost", "User-Agent: curl/8\r\nX-Client: forged\r\n"));
  BOOST_TEST_REQUIRE(r.status == 200, "status " << r.status << "\n" << server.diagnostics());
  const it::Echo e = it::parse_echo(r.body);
  BOOST_TEST_CONTEXT("upstream saw:\n" << r.body) {
    BOOST_TEST(e.target == "/set/x");
    BOOST_TEST(e.header_count("Host") == 1U);
    BOOST_TEST(e.header("Host").value_or("") == "internal.app");
    BOOST_TEST(e.header_count("User-Agent") == 0U);
    BOOST_TEST(e.header_count("X-Client") == 1U);
    BOOST_TEST(e.header("X-Client").value_or("") == "127.0.0.1 http GET");
    BOOST_TEST(e.header("X-Forwarded-Host").value_or("") == "localhost");
  }
}

BOOST_AUTO_TEST_CASE(response_hop_by_hop_headers_are_removed_others_kept) {
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/r?hop=1"));
  const it::Response r = conn.expect_response();
  BOOST_TEST_CONTEXT("client got:\n" << it::printable(r.raw_head, 4000)) {
    BOOST_TEST(r.status == 200);
    it::check_common_headers(r);  // serverd's own Server and Date, once each
    BOOST_TEST(r.header("Date").value_or("") != "Mon, 01 Jan 2024 00:00:00 GMT");
    for (const char* h : {"X-Hop", "Keep-Alive", "Proxy-Authenticate", "Trailer", "Upgrade",
                          "X-Secret", "Transfer-Encoding"}) {
      BOOST_TEST(r.header_count(h) == 0U, h << " reached the client");
    }
    BOOST_TEST(r.header_count("Connection") <= 1U);
    BOOST_TEST(r.header("Connection").value_or("keep-alive") == "keep-alive");
    BOOST_TEST(r.header("X-Kept").value_or("") == "yes");
    BOOST_TEST(r.header("X-Backend").value_or("") == "b1");
    BOOST_TEST(r.header("Cache-Control").value_or("") == "no-store");
    BOOST_TEST(r.header("Content-Type").value_or("") == "text/plain");
    std::vector<std::string> cookies;
    for (const auto& [n, v] : r.headers)
      if (it::contains(n, "Set-Cookie")) cookies.push_back(v);
    BOOST_TEST((cookies == std::vector<std::string>{"a=1", "b=2"}));
    BOOST_TEST(r.header("Content-Length").value_or("") == std::to_string(r.body.size()));
    BOOST_TEST(it::parse_echo(r.body).target == "/r?hop=1");
  }
  // The connection is still good for the next request.
  conn.send(it::get_request("/again"));
  const it::Response again = conn.expect_response();
  BOOST_TEST(again.status == 200);
  BOOST_TEST(it::parse_echo(again.body).target == "/again");
}

BOOST_AUTO_TEST_CASE(upstream_error_status_is_passed_on) {
  const it::Response r = server.get("/missing?status=404");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(it::parse_echo(r.body).target == "/missing?status=404");
  BOOST_TEST(r.header("X-Backend").value_or("") == "b1");
}

BOOST_AUTO_TEST_SUITE_END()
