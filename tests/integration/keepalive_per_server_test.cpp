// keepalive_requests and keepalive_timeout belong to the server that answered the request, not
// to the default server of the listen address: two [[server]]s share one address and differ in
// both.
#include <boost/test/unit_test.hpp>
#include <string>

#include "harness/checks.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const char* const kReturnR =
    "  [[server.location]]\n"
    "  path = \"/r\"\n"
    "  return = { status = 200, body = \"r\\n\" }\n";

// The default server ("localhost", first on the address) with `default_lines`, then "second"
// on the same address with `second_lines`.
std::string two_servers(std::string_view default_lines, std::string_view second_lines) {
  std::string c = it::simple_config(default_lines, kReturnR);
  c += "\n[[server]]\n"
       "listen = [\"127.0.0.1:{PORT}\"]\n"
       "server_name = [\"second\"]\n";
  c += second_lines;
  c += "\n";
  c += kReturnR;
  return c;
}

void populate(const it::TempDir& d) {
  d.write("html/index.html", "index\n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keepalive_per_server)

BOOST_AUTO_TEST_CASE(keepalive_requests_of_the_answering_server) {
  it::TestServer server(two_servers("keepalive_requests = 1\n", "keepalive_requests = 100\n"),
                        populate);
  {
    it::HttpConnection conn = server.connect();
    for (int i = 1; i <= 3; ++i) {
      BOOST_TEST_CONTEXT("request " << i << " to \"second\"") {
        conn.send(it::get_request("/r", "second"));
        const it::Response r = conn.expect_response();
        it::check_fixed_body(r, "r\n");
        BOOST_TEST(r.header("Connection").value_or("") != "close");
      }
    }
  }
  // The default server's own setting still applies to its own requests.
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/r", "localhost"));
  const it::Response r = conn.expect_response();
  it::check_fixed_body(r, "r\n");
  BOOST_TEST(r.header("Connection").value_or("") == "close");
  BOOST_TEST(it::to_string(conn.wait_for_close(2s).kind) == "fin");
}

BOOST_AUTO_TEST_CASE(shorter_keepalive_timeout_of_the_answering_server) {
  it::TestServer server(
      two_servers("keepalive_timeout = \"10s\"\n", "keepalive_timeout = \"300ms\"\n"), populate);
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/r", "second"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  const it::CloseResult c = conn.wait_for_close(5s);
  BOOST_TEST(it::to_string(c.kind) == "fin");
  BOOST_TEST(c.elapsed.count() >= 200);
  BOOST_TEST(c.elapsed.count() <= 2500, "closed after " << c.elapsed.count() << "ms");
}

BOOST_AUTO_TEST_CASE(longer_keepalive_timeout_of_the_answering_server) {
  it::TestServer server(
      two_servers("keepalive_timeout = \"300ms\"\n", "keepalive_timeout = \"10s\"\n"), populate);
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/r", "second"));
  it::check_fixed_body(conn.expect_response(), "r\n");
  // Well past the default server's 300 ms: the connection is still open and usable.
  BOOST_TEST(conn.quiet_for(1200ms));
  conn.send(it::get_request("/r", "second"));
  it::check_fixed_body(conn.expect_response(), "r\n");
}

BOOST_AUTO_TEST_SUITE_END()
