// Upstream keep-alive and balancing: pooled connections are reused, a pooled connection the
// upstream closed is never used, round robin alternates.
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <thread>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(proxy_pool)

BOOST_AUTO_TEST_CASE(sequential_requests_reuse_upstream_connections) {
  it::TestBackend backend;
  it::TestServer server(px::config(px::upstream("app", {backend.address()}, "keepalive = 16"),
                                   px::location("/", "http://app")));
  {
    it::HttpConnection conn = server.connect();
    for (int i = 0; i < 100; ++i) {
      conn.send(it::get_request("/one/" + std::to_string(i)));
      const it::Response r = conn.expect_response();
      BOOST_TEST_REQUIRE(r.status == 200, "request " << i);
      BOOST_TEST_REQUIRE(it::parse_echo(r.body).target == "/one/" + std::to_string(i));
    }
  }
  BOOST_TEST(backend.requests() == 100U);
  BOOST_TEST(backend.connections() <= 5U, "100 requests on one client connection took "
                                              << backend.connections() << " upstream connections");
  const std::size_t after_first = backend.connections();
  for (int i = 0; i < 100; ++i) {
    const it::Response r = server.get("/many/" + std::to_string(i));
    BOOST_TEST_REQUIRE(r.status == 200, "request " << i);
  }
  BOOST_TEST(backend.requests() == 200U);
  BOOST_TEST(backend.connections() - after_first <= 5U,
             "100 requests on separate client connections took "
                 << backend.connections() - after_first << " more upstream connections");
  // No request failed on a reused connection along the way.
  BOOST_TEST(px::log_lines_with(server, {"[error]"}) == 0U, server.error_log());
}

BOOST_AUTO_TEST_CASE(literal_address_is_pooled_too) {
  it::TestBackend backend;
  it::TestServer server(px::config("", px::location("/", "http://" + backend.address())));
  it::HttpConnection conn = server.connect();
  for (int i = 0; i < 20; ++i) {
    conn.send(it::get_request("/x"));
    BOOST_TEST_REQUIRE(conn.expect_response().status == 200);
  }
  BOOST_TEST(backend.connections() <= 2U);
}

BOOST_AUTO_TEST_CASE(no_keepalive_means_a_connection_per_request) {
  it::TestBackend backend;
  it::TestServer server(px::config(px::upstream("app", {backend.address()}, "keepalive = 0"),
                                   px::location("/", "http://app")));
  it::HttpConnection conn = server.connect();
  for (int i = 0; i < 5; ++i) {
    conn.send(it::get_request("/x"));
    BOOST_TEST_REQUIRE(conn.expect_response().status == 200);
  }
  BOOST_TEST(backend.connections() == 5U);
  // And none of them is left open.
  BOOST_TEST(px::log_lines_with(server, {"[error]"}) == 0U);
  BOOST_TEST(it::ps::wait_until([&] { return backend.open_connections() == 0; }, 2s));
}

BOOST_AUTO_TEST_CASE(pooled_connection_closed_by_upstream_is_never_used) {
  it::BackendOptions o;
  o.name = "closer";
  o.idle_close = 200ms;
  it::TestBackend backend(o);
  it::TestServer server(px::config(px::upstream("app", {backend.address()}, "keepalive = 16"),
                                   px::location("/", "http://app")));
  it::HttpConnection conn = server.connect();
  for (int i = 0; i < 5; ++i) {
    if (i > 0) std::this_thread::sleep_for(400ms);
    conn.send(it::get_request("/spaced/" + std::to_string(i)));
    const it::Response r = conn.expect_response();
    BOOST_TEST(r.status == 200, "request " << i << " after the backend closed its idle connection");
    if (r.status == 200) BOOST_TEST(it::parse_echo(r.body).connection == std::size_t(i + 1));
  }
  BOOST_TEST(backend.requests() == 5U);
  BOOST_TEST(backend.connections() == 5U);
  BOOST_TEST(px::log_lines_with(server, {"[error]"}) == 0U, server.error_log());
  BOOST_TEST(px::log_lines_with(server, {"pooled connection"}) == 0U,
             "a dead pooled connection was tried: " << server.error_log());
}

BOOST_AUTO_TEST_CASE(round_robin_alternates) {
  it::TestBackend a{it::BackendOptions{"A"}};
  it::TestBackend b{it::BackendOptions{"B"}};
  it::TestServer server(px::config(
      px::upstream("rr", {a.address(), b.address()}, "balance = \"round_robin\"\nkeepalive = 8"),
      px::location("/", "http://rr")));
  std::string order;
  it::HttpConnection conn = server.connect();
  for (int i = 0; i < 10; ++i) {
    conn.send(it::get_request("/rr"));
    const it::Response r = conn.expect_response();
    BOOST_TEST_REQUIRE(r.status == 200);
    order += it::parse_echo(r.body).server;
  }
  BOOST_TEST((order == "ABABABABAB" || order == "BABABABABA"), "order " << order);
  BOOST_TEST(a.requests() == 5U);
  BOOST_TEST(b.requests() == 5U);
}

BOOST_AUTO_TEST_CASE(weighted_round_robin_follows_weights) {
  it::TestBackend a{it::BackendOptions{"A"}};
  it::TestBackend b{it::BackendOptions{"B"}};
  const std::string upstreams =
      "[[upstream]]\nname = \"w\"\nkeepalive = 8\nservers = [ "
      "{ address = \"" +
      a.address() +
      "\", weight = 3 }, "
      "{ address = \"" +
      b.address() + "\", weight = 1 } ]\n\n";
  it::TestServer server(px::config(upstreams, px::location("/", "http://w")));
  std::map<std::string, int> counts;
  for (int i = 0; i < 12; ++i) {
    const it::Response r = server.get("/w");
    BOOST_TEST_REQUIRE(r.status == 200);
    ++counts[it::parse_echo(r.body).server];
  }
  BOOST_TEST(counts["A"] == 9);
  BOOST_TEST(counts["B"] == 3);
}

BOOST_AUTO_TEST_SUITE_END()
