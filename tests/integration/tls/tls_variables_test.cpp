// Variables see the connection: on a TLS listener $scheme is "https" and $https "on" in a
// `return` redirect, an `add_header` value and an access log line; on a plain listener with
// the same settings they say "http" and nothing (issue 18: a `$scheme://$host$request_uri`
// redirect used to send TLS clients to plain HTTP).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/ports.hpp"
#include "../logging/logging_support.hpp"
#include "tls_support_configs.hpp"

namespace it = serverd::itest;
namespace lg = serverd::itest::logging;
using namespace std::chrono_literals;

namespace {

// The same server block on a TLS address ({PORT}) and on a plain one.
std::string config(int plain_port) {
  const std::string body =
      "access_log = \"logs/access.log\"\n"
      "access_log_flush = \"100ms\"\n"
      "access_log_format = \"$scheme [$https] $status $host $request_uri\"\n"
      "add_header = { \"X-Scheme\" = \"$scheme\", \"X-Https\" = \"[$https]\" }\n"
      "  [[server.location]]\n"
      "  path = \"/\"\n"
      "  return = { status = 301, location = \"$scheme://$host$request_uri\" }\n\n";
  return "[main]\npid_file = \"serverd.pid\"\nworker_processes = 1\n\n"
         "[log]\nerror_log = \"error.log\"\nlevel = \"info\"\n\n"
         "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
         "server_name = [\"a.test\"]\n" +
         it::tls_line("a") + body +
         "[[server]]\nlisten = [\"127.0.0.1:" + std::to_string(plain_port) + "\"]\n" +
         "server_name = [\"a.test\"]\n" + body;
}

void populate(const it::TempDir& dir) {
  it::make_two_certs(dir);
  dir.write("logs/.keep", "");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_variables)

BOOST_AUTO_TEST_CASE(scheme_is_https_on_a_tls_listener) {
  const int plain_port = it::pick_free_port();
  it::TestServer server(config(plain_port), populate);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsOptions sni;
    sni.sni = "a.test";
    const it::Response tls = it::tls_get(server.port(), "/old/page?x=1", sni, nullptr, "a.test");
    BOOST_TEST(tls.status == 301);
    BOOST_TEST(tls.header("Location").value_or("") == "https://a.test/old/page?x=1");
    BOOST_TEST(tls.header("X-Scheme").value_or("") == "https");
    BOOST_TEST(tls.header("X-Https").value_or("") == "[on]");

    BOOST_TEST_REQUIRE(it::wait_until([&] { return it::port_accepts(plain_port, 200ms); }, 5s));
    const it::Response plain = it::fetch(plain_port, it::get_request("/old/page?x=1", "a.test"));
    BOOST_TEST(plain.status == 301);
    BOOST_TEST(plain.header("Location").value_or("") == "http://a.test/old/page?x=1");
    BOOST_TEST(plain.header("X-Scheme").value_or("") == "http");
    BOOST_TEST(plain.header("X-Https").value_or("") == "[]");

    // Two servers may flush their lines in either order.
    auto lines = lg::wait_for_lines(server.dir() / "logs/access.log", 2);
    std::sort(lines.begin(), lines.end());
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(lines[0] == "http [-] 301 a.test /old/page?x=1");
    BOOST_TEST(lines[1] == "https [on] 301 a.test /old/page?x=1");
  }
}

BOOST_AUTO_TEST_SUITE_END()
