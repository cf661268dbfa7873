// add_header (modules/headers): on static, return and proxied responses; only on success and
// redirect statuses unless `always`; a location's list replaces the server's; variables expand
// and cannot inject a header.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/proxy_support.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;

namespace {

const std::string kServerHeaders =
    "add_header = { X-Frame-Options = \"DENY\", "
    "Strict-Transport-Security = { value = \"max-age=63072000\", always = true }, "
    "X-Seen-Uri = \"$request_uri\" }\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(add_header)

BOOST_AUTO_TEST_CASE(server_headers_on_static_and_only_always_ones_on_errors) {
  it::TestServer server(it::simple_config(kServerHeaders, ""),
                        [](const it::TempDir& d) { d.write("html/index.html", "hello\n"); });
  const it::Response ok = server.get("/index.html?a=1");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == "hello\n");
  BOOST_TEST(ok.header("X-Frame-Options").value_or("") == "DENY");
  BOOST_TEST(ok.header("Strict-Transport-Security").value_or("") == "max-age=63072000");
  BOOST_TEST(ok.header("X-Seen-Uri").value_or("") == "/index.html?a=1");

  const it::Response missing = server.get("/nope");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(!missing.has_header("X-Frame-Options"), missing.raw_head);
  BOOST_TEST(missing.header("Strict-Transport-Security").value_or("") == "max-age=63072000");
}

BOOST_AUTO_TEST_CASE(a_location_list_replaces_the_servers_and_redirects_get_it) {
  const std::string locations =
      "  [[server.location]]\n"
      "  path = \"/old\"\n"
      "  return = { status = 301, location = \"https://$host$request_uri\" }\n"
      "  add_header = { Cache-Control = \"no-store\" }\n"
      "\n"
      "  [[server.location]]\n"
      "  path = \"/bare\"\n"
      "  return = { status = 200, body = \"bare\\n\" }\n"
      "  add_header = {}\n";
  it::TestServer server(it::simple_config(kServerHeaders, locations));
  const it::Response r = server.get("/old/x");
  BOOST_TEST(r.status == 301);
  BOOST_TEST(r.header("Location").value_or("") == "https://localhost/old/x");
  BOOST_TEST(r.header("Cache-Control").value_or("") == "no-store");
  BOOST_TEST(!r.has_header("X-Frame-Options"), r.raw_head);
  const it::Response bare = server.get("/bare");
  BOOST_TEST(bare.body == "bare\n");
  BOOST_TEST(!bare.has_header("X-Frame-Options"));
  BOOST_TEST(!bare.has_header("Strict-Transport-Security"));
}

BOOST_AUTO_TEST_CASE(proxied_responses_get_them_and_variables_cannot_inject_headers) {
  it::TestBackend backend;
  it::TestServer server(px::config(
      px::upstream("app", {backend.address()}),
      px::location("/", "http://app", "add_header = { X-Via = \"serverd $http_x_tag\" }")));
  const it::Response r = server.fetch("GET /p HTTP/1.1\r\nHost: localhost\r\nX-Tag: a\tb\r\n\r\n");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("X-Via").value_or("") == "serverd a\tb");
  BOOST_TEST(r.header_count("X-Via") == 1U);
  BOOST_TEST(backend.requests() == 1U);
}

BOOST_AUTO_TEST_CASE(reserved_or_malformed_headers_are_config_errors) {
  it::TempDir dir;
  dir.write(
      "bad.toml",
      "[[server]]\nlisten = [\"127.0.0.1:1\"]\n"
      "add_header = { Content-Length = \"5\", \"Bad Name\" = \"x\", X-Ok = { always = true } }\n");
  const it::CommandResult r = it::run_serverd({"-t", "-c", (dir.path() / "bad.toml").string()});
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(it::contains(r.err, "bad.toml:3:"), r.err);
  BOOST_TEST(it::contains(r.err, "\"Content-Length\" is set by serverd itself"), r.err);
  BOOST_TEST(it::contains(r.err, "\"Bad Name\" is not a valid header name"), r.err);
  BOOST_TEST(it::contains(r.err, "\"X-Ok\" needs a `value`"), r.err);
}

BOOST_AUTO_TEST_SUITE_END()
