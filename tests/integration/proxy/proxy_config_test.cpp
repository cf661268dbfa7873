// proxy_pass targets: URI mapping by nginx's rules against a real upstream, and config errors
// that `serverd -t` reports with FILE:LINE:COL.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;

namespace {

// 1-based line and column of the first occurrence of `needle` in `text`.
std::string line_col(std::string_view text, std::string_view needle) {
  const std::size_t pos = text.find(needle);
  BOOST_REQUIRE(pos != std::string_view::npos);
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_config)

BOOST_AUTO_TEST_CASE(literal_url_with_uri_part_maps_the_path) {
  it::TestBackend backend;
  const std::string up = "http://" + backend.address();
  it::TestServer server(
      px::config("", px::location("/api/", up + "/v1/") +
                         px::location("/login", up + "/auth/login", "match = \"exact\"") +
                         px::location("/raw/", up) + px::location("/enc/", up + "/e/") +
                         px::location("/strip/", up + "/")));
  struct Case {
    const char* request_target;
    const char* upstream_target;
  };
  const Case cases[] = {
      {"/api/x?q=1", "/v1/x?q=1"},
      {"/api/a/b/../c", "/v1/a/c"},
      {"/api/", "/v1/"},
      {"/login?next=%2Fhome", "/auth/login?next=%2Fhome"},
      {"/raw/a%2Fb/../c//d?x=%20", "/raw/a%2Fb/../c//d?x=%20"},
      {"/enc/a%20b/caf%C3%A9", "/e/a%20b/caf%C3%A9"},
      {"/strip/deep/path.html", "/deep/path.html"},
  };
  it::HttpConnection conn = server.connect();
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("GET " << c.request_target) {
      conn.send(it::get_request(c.request_target));
      const it::Response r = conn.expect_response();
      BOOST_TEST_REQUIRE(r.status == 200, server.diagnostics());
      BOOST_TEST(it::parse_echo(r.body).target == c.upstream_target);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_upstream_name_fails_the_config_test_with_position) {
  it::TempDir dir;
  const std::string text =
      px::config(px::upstream("app", {"127.0.0.1:9"}),
                 px::location("/a/", "http://app") + px::location("/b/", "http://nosuch"));
  const std::string filled = it::substitute_port(text, it::pick_free_port());
  const auto path = dir.write("proxy.toml", filled);
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST_CONTEXT("config:\n" << filled << "\noutput: " << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.term_signal == 0);
    BOOST_TEST(r.exit_code != 0);
    const std::string where = path.string() + ":" + line_col(filled, "\"http://nosuch\"") + ": ";
    BOOST_TEST(it::contains(r.output(), where + "proxy_pass \"http://nosuch\""),
               "expected \"" << where << "proxy_pass \\\"http://nosuch\\\"...\"");
    BOOST_TEST(it::contains(r.output(), "no [[upstream]] of that name"));
    BOOST_TEST(!it::contains(r.output(), "test is successful"));
  }
}

BOOST_AUTO_TEST_CASE(bad_proxy_settings_fail_the_config_test_with_positions) {
  it::TempDir dir;
  const std::string text = px::config(
      "", px::location("/a/", "ftp://127.0.0.1:9") +
              px::location("/t/", "https://127.0.0.1:9",
                           "proxy_ssl_trusted_certificate = \"/nonexistent/ca.pem\"") +
              px::location("/b/", "http://127.0.0.1:9", "proxy_read_timeout = \"soon\"") +
              px::location("^/c", "http://127.0.0.1:9/v1/", "match = \"regex\""));
  const std::string filled = it::substitute_port(text, it::pick_free_port());
  const auto path = dir.write("proxy.toml", filled);
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST_CONTEXT("config:\n" << filled << "\noutput: " << r.output()) {
    BOOST_TEST(r.exit_code != 0);
    const std::string p = path.string() + ":";
    BOOST_TEST(it::contains(r.output(), p + line_col(filled, "\"ftp://") + ": "));
    BOOST_TEST(it::contains(r.output(), "must start with \"http://\" or \"https://\""));
    BOOST_TEST(it::contains(r.output(), p + line_col(filled, "\"/nonexistent/ca.pem\"") +
                                            ": cannot read \"/nonexistent/ca.pem\""));
    BOOST_TEST(it::contains(r.output(), p + line_col(filled, "\"soon\"") + ": "));
    BOOST_TEST(it::contains(r.output(), p + line_col(filled, "\"http://127.0.0.1:9/v1/\"") +
                                            ": proxy_pass with a URI part cannot be used in a "
                                            "regex location"));
  }
}

BOOST_AUTO_TEST_CASE(valid_proxy_config_passes_the_config_test) {
  it::TempDir dir;
  const std::string text = px::config(
      px::upstream("app", {"127.0.0.1:9", "127.0.0.1:10"}, "keepalive = 8"),
      px::location("/", "http://app",
                   "proxy_read_timeout = \"5s\"\n  proxy_set_header = { \"X-A\" = \"$host\" }\n"
                   "  proxy_hide_header = [\"X-Powered-By\"]\n  proxy_buffer_size = \"32KiB\""));
  const auto path = dir.write("proxy.toml", it::substitute_port(text, it::pick_free_port()));
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST(r.exit_code == 0, r.output());
  BOOST_TEST(it::contains(r.output(), "test is successful"), r.output());
}

BOOST_AUTO_TEST_SUITE_END()
