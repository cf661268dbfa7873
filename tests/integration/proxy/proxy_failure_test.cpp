// Upstream failures: 502 when nothing answers (and the error log says where), 504 on
// proxy_read_timeout, the next server on a connect failure, and no replay of a non-idempotent
// request that a server may have acted on.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A 127.0.0.1 port nobody listens on (connections are refused).
std::string dead_address() {
  return "127.0.0.1:" + std::to_string(it::pick_free_port());
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_failures)

BOOST_AUTO_TEST_CASE(upstream_down_is_502_and_logged_with_its_address) {
  const std::string dead = dead_address();
  it::TestServer server(px::config("", px::location("/", "http://" + dead)));
  const it::Response r = server.get("/x");
  BOOST_TEST(r.status == 502);
  it::check_common_headers(r);
  BOOST_TEST(server.wait_for_log(dead));
  BOOST_TEST_CONTEXT("error log:\n" << server.error_log()) {
    BOOST_TEST(px::log_lines_with(server, {"[error]", dead, "connect() failed", "GET /x"}) == 1U);
  }
  // The client connection survives a 502.
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/a") + it::get_request("/b"));
  BOOST_TEST(conn.expect_response().status == 502);
  BOOST_TEST(conn.expect_response().status == 502);
}

BOOST_AUTO_TEST_CASE(slow_upstream_is_504_after_proxy_read_timeout) {
  it::TestBackend backend;
  it::TestServer server(
      px::config(px::upstream("app", {backend.address()}),
                 px::location("/", "http://app", "proxy_read_timeout = \"500ms\"")));
  // A fast answer first: the timeout is not a fixed delay.
  BOOST_TEST(server.get("/fast?sleep=100").status == 200);
  const auto start = Clock::now();
  const it::Response r = server.get("/slow?sleep=3000");
  const long ms = elapsed_ms(start);
  BOOST_TEST(r.status == 504);
  BOOST_TEST(ms >= 450);
  BOOST_TEST(ms < 2000, "504 after " << ms << " ms");
  BOOST_TEST(server.wait_for_log("timed out"));
  BOOST_TEST_CONTEXT("error log:\n" << server.error_log()) {
    BOOST_TEST(px::log_lines_with(server, {backend.address(), "timed out", "GET /slow"}) == 1U);
  }
  // Tried once: a timeout is not retried on the same (only) server.
  BOOST_TEST(backend.requests() == 2U);
}

BOOST_AUTO_TEST_CASE(connect_failure_goes_to_the_next_server) {
  it::TestBackend live{it::BackendOptions{"live"}};
  const std::string dead = dead_address();
  it::TestServer server(
      px::config(px::upstream("pair", {dead, live.address()}), px::location("/", "http://pair")));
  for (int i = 0; i < 6; ++i) {
    const it::Response r = server.get("/r" + std::to_string(i));
    BOOST_TEST_REQUIRE(r.status == 200, "request " << i << "\n" << server.diagnostics());
    BOOST_TEST(it::parse_echo(r.body).server == "live");
  }
  BOOST_TEST(live.requests() == 6U);
  // The dead server failed once, then was marked down (max_fails = 1): no more attempts.
  BOOST_TEST_CONTEXT("error log:\n" << server.error_log()) {
    BOOST_TEST(px::log_lines_with(server, {dead, "connect() failed"}) == 1U);
    BOOST_TEST(px::log_lines_with(server, {dead, "marked down"}) == 1U);
  }
}

BOOST_AUTO_TEST_CASE(failure_after_the_request_was_sent_is_not_retried_for_post) {
  // "dropper" reads every request whole and closes without answering; "good" answers. With
  // max_fails = 0 neither is ever marked down, so round robin keeps offering both.
  it::TestBackend dropper{it::BackendOptions{"dropper", {}, true}};
  it::TestBackend good{it::BackendOptions{"good"}};
  it::TestServer server(
      px::config(px::upstream("grp", {dropper.address(), good.address()}, "", "max_fails = 0"),
                 px::location("/", "http://grp")));

  int post_502 = 0;
  for (int i = 0; i < 6; ++i) {
    const std::size_t dropped_before = dropper.requests();
    const std::size_t good_before = good.requests();
    const it::Response r = server.fetch(
        it::make_request("POST", "/order", "localhost", "Content-Length: 5\r\n") + "hello");
    const bool hit_dropper = dropper.requests() > dropped_before;
    BOOST_TEST_CONTEXT("POST " << i << (hit_dropper ? " (dropper first)" : " (good first)")) {
      if (hit_dropper) {
        ++post_502;
        BOOST_TEST(r.status == 502);
        BOOST_TEST(good.requests() == good_before, "a POST was replayed on the next server");
      } else {
        BOOST_TEST(r.status == 200);
        BOOST_TEST(it::parse_echo(r.body).body_checksum == it::fnv64_hex("hello"));
      }
    }
  }
  BOOST_TEST(post_502 >= 2, "round robin never sent a POST to the failing server");

  int get_retried = 0;
  for (int i = 0; i < 6; ++i) {
    const std::size_t dropped_before = dropper.requests();
    const std::size_t good_before = good.requests();
    const it::Response r = server.get("/item");
    const bool hit_dropper = dropper.requests() > dropped_before;
    BOOST_TEST_CONTEXT("GET " << i << (hit_dropper ? " (dropper first)" : " (good first)")) {
      BOOST_TEST(r.status == 200);
      BOOST_TEST(good.requests() == good_before + 1);
      get_retried += hit_dropper ? 1 : 0;
    }
  }
  BOOST_TEST(get_retried >= 2, "round robin never sent a GET to the failing server");
  BOOST_TEST_CONTEXT("error log:\n" << server.error_log()) {
    BOOST_TEST(px::log_lines_with(server, {dropper.address(), "POST /order", "closed"}) ==
               static_cast<std::size_t>(post_502));
  }
}

BOOST_AUTO_TEST_CASE(single_server_upstream_is_tried_again_once_it_is_back) {
  // nginx never marks the only server of an upstream down: a restarting backend costs the
  // requests made while it is down, not fail_timeout's worth of 502s afterwards.
  const int port = it::pick_free_port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  it::TestServer server(
      px::config(px::upstream("solo", {address}), px::location("/", "http://solo")));
  BOOST_TEST(server.get("/while-down").status == 502);
  it::BackendOptions o;
  o.name = "back";
  o.port = port;
  it::TestBackend backend(o);
  const it::Response r = server.get("/after-restart");
  BOOST_TEST(r.status == 200, "the backend is up again but serverd answers " << r.status << "\n"
                                                                             << server.error_log());
  BOOST_TEST(backend.requests() == 1U);
}

BOOST_AUTO_TEST_CASE(invalid_upstream_response_is_502) {
  it::TestBackend backend;
  it::TestServer server(px::config(px::upstream("app", {backend.address()}, "", "max_fails = 0"),
                                   px::location("/", "http://app")));
  const auto start = Clock::now();
  const it::Response r = server.get("/x?garbage=1");
  BOOST_TEST(r.status == 502);
  BOOST_TEST(elapsed_ms(start) < 2000);
  BOOST_TEST(server.wait_for_log("invalid response"));
  BOOST_TEST(px::log_lines_with(server, {backend.address(), "invalid response", "GET /x"}) == 1U,
             server.error_log());
  // The worker still serves.
  BOOST_TEST(server.get("/y").status == 200);
}

BOOST_AUTO_TEST_CASE(next_upstream_tries_limits_the_attempts) {
  it::TestBackend d1{it::BackendOptions{"d1", {}, true}};
  it::TestBackend d2{it::BackendOptions{"d2", {}, true}};
  it::TestBackend good{it::BackendOptions{"good"}};
  it::TestServer server(px::config(
      px::upstream("grp", {d1.address(), d2.address(), good.address()}, "", "max_fails = 0"),
      px::location("/", "http://grp", "proxy_next_upstream_tries = 2")));
  for (int i = 0; i < 6; ++i) {
    const std::size_t before = d1.requests() + d2.requests() + good.requests();
    const it::Response r = server.get("/t" + std::to_string(i));
    const std::size_t attempts = d1.requests() + d2.requests() + good.requests() - before;
    BOOST_TEST_CONTEXT("GET " << i << ": status " << r.status << ", " << attempts << " attempts") {
      BOOST_TEST(attempts <= 2U);
      BOOST_TEST((r.status == 200 || (r.status == 502 && attempts == 2U)));
    }
  }
}

BOOST_AUTO_TEST_CASE(all_servers_failing_is_502) {
  it::TestBackend d1{it::BackendOptions{"d1", {}, true}};
  it::TestBackend d2{it::BackendOptions{"d2", {}, true}};
  it::TestServer server(
      px::config(px::upstream("grp", {d1.address(), d2.address()}, "", "max_fails = 0"),
                 px::location("/", "http://grp")));
  const it::Response r = server.get("/x");
  BOOST_TEST(r.status == 502);
  // Each server tried exactly once.
  BOOST_TEST(d1.requests() == 1U);
  BOOST_TEST(d2.requests() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
