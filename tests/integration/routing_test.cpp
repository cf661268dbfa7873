// Virtual hosts (exact, wildcard, default server) and nginx's location precedence; each
// location answers with its own `return` body so the test sees which one matched.
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>

#include "harness/checks.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;

namespace {

std::string server_block(std::string_view listen, std::string_view names, std::string_view body) {
  return std::string("[[server]]\nlisten = ") + std::string(listen) +
         "\nserver_name = " + std::string(names) +
         "\n  [[server.location]]\n  path = \"/\"\n  return = { status = 200, body = \"" +
         std::string(body) + "\" }\n\n";
}

std::string location(std::string_view path, std::string_view match, std::string_view body) {
  // TOML literal strings: regexes need no escaping.
  return "  [[server.location]]\n  path = '" + std::string(path) + "'\n  match = \"" +
         std::string(match) + "\"\n  return = { status = 200, body = \"" + std::string(body) +
         "\\n\" }\n";
}

// Host header value -> body of the server expected to answer.
void check_hosts(const it::TestServer& server,
                 std::initializer_list<std::pair<const char*, const char*>> cases) {
  for (const auto& [host, body] : cases) {
    BOOST_TEST_CONTEXT("Host: " << host) {
      const it::Response r = server.get("/", host);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == body);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing)

BOOST_AUTO_TEST_CASE(server_selected_by_host) {
  const std::string listen = "[\"127.0.0.1:{PORT}\"]";
  const std::string config = it::config_prelude() +
                             server_block(listen, R"(["first.test"])", "first\\n") +
                             server_block(listen, R"(["exact.test", "alias.test"])", "exact\\n") +
                             server_block(listen, R"(["*.example.com"])", "wildcard\\n") +
                             server_block(listen, R"(["www.example.com"])", "www\\n");
  it::TestServer server(config);
  const std::string with_port = "exact.test:" + std::to_string(server.port());
  check_hosts(server, {{"first.test", "first\n"},
                       {"exact.test", "exact\n"},
                       {"alias.test", "exact\n"},
                       {"EXACT.Test", "exact\n"},
                       {with_port.c_str(), "exact\n"},
                       {"foo.example.com", "wildcard\n"},
                       {"a.b.example.com", "wildcard\n"},
                       {"www.example.com", "www\n"},  // exact beats wildcard
                       {"example.com", "first\n"},    // *.example.com needs a subdomain
                       {"unknown.test", "first\n"},   // default: the first for the address
                       {"127.0.0.1", "first\n"}});
  // HTTP/1.0 without Host: the default server.
  const it::Response r = server.fetch("GET / HTTP/1.0\r\n\r\n");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "first\n");
}

BOOST_AUTO_TEST_CASE(default_server_flag_wins_over_order) {
  const std::string config =
      it::config_prelude() + server_block("[\"127.0.0.1:{PORT}\"]", R"(["one.test"])", "one\\n") +
      server_block("[{ address = \"127.0.0.1:{PORT}\", default_server = true }]", R"(["two.test"])",
                   "two\\n");
  it::TestServer server(config);
  check_hosts(server, {{"one.test", "one\n"}, {"two.test", "two\n"}, {"unknown.test", "two\n"}});
}

BOOST_AUTO_TEST_CASE(location_precedence_as_nginx) {
  std::string config =
      it::config_prelude() +
      "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n";
  config += location("/", "prefix", "root");
  config += location("/images/", "prefix", "images");
  config += location("/images/deep/", "prefix", "deep");
  config += location(R"(\.(gif|jpg)$)", "regex", "regex");
  config += location(R"(^/images/.*\.gif$)", "regex", "regex2");
  config += location(R"(\.PNG$)", "regex_icase", "icase");
  config += location("/static/", "priority_prefix", "priority");
  config += location("/static/js/", "prefix", "static-js");
  config += location("/logo.gif", "exact", "exact");
  config += location("/exact", "exact", "exact-only");
  it::TestServer server(config);

  const std::pair<const char*, const char*> cases[] = {
      {"/logo.gif", "exact\n"},      // exact beats everything
      {"/logo.gif?v=2", "exact\n"},  // the query is not part of the match
      {"/exact", "exact-only\n"},
      {"/exact/more", "root\n"},        // exact means exact
      {"/static/a.gif", "priority\n"},  // priority_prefix beats regex
      {"/static/a.png", "priority\n"},
      {"/static/js/a.txt", "static-js\n"},  // a longer plain prefix under a priority one...
      {"/static/js/a.gif", "regex\n"},      // ...does not stop the regexes
      {"/images/a.gif", "regex\n"},         // regex beats prefix; first regex in file order
      {"/images/a.png", "icase\n"},         // regex_icase
      {"/images/a.PnG", "icase\n"},
      {"/images/a.GIF", "images\n"},  // plain regex is case-sensitive
      {"/images/a.txt", "images\n"},
      {"/images/deep/a.txt", "deep\n"},  // longest prefix
      {"/images/deep/a.jpg", "regex\n"},
      {"/imag%65s/a.txt", "images\n"},  // matched on the decoded path
      {"/other", "root\n"},
      {"/", "root\n"},
  };
  for (const auto& [target, body] : cases) {
    BOOST_TEST_CONTEXT("GET " << target) {
      const it::Response r = server.get(target);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == body);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
