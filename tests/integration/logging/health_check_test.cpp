// Active health checks by the agent, and the agent's supervision:
//   - a backend that stops is marked down once within fall x interval (+ slack), clients keep
//     being served by the other one; started again, it is marked up once and gets traffic, but
//     no proxied request before its `rise`-th successful probe;
//   - a backend that stays up but fails its probes (503) gets no proxied request once marked
//     down (after a short grace for the broadcast), and traffic again once healthy;
//   - `kill -9` of the agent: a new agent appears and no client request fails meanwhile.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../harness/checks.hpp"
#include "../harness/load_driver.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/test_server.hpp"
#include "logging_support.hpp"
#include "toggle_backend.hpp"

namespace it = serverd::itest;
namespace lg = serverd::itest::logging;
namespace ps = serverd::itest::ps;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kInterval = 200ms;
constexpr int kFall = 2;
constexpr int kRise = 2;

std::string health_config(const lg::ToggleBackend& a, const lg::ToggleBackend& b) {
  const std::string upstream =
      "[[upstream]]\nname = \"app\"\nservers = [ { address = \"" + a.address() +
      "\" }, { address = \"" + b.address() +
      "\" } ]\nhealth_check = { path = \"/health\", interval = \"200ms\", timeout = \"200ms\", "
      "rise = 2, fall = 2 }\n";
  const std::string app_location =
      "\n  [[server.location]]\n  path = \"/app/\"\n  proxy_pass = \"http://app\"\n";
  return lg::logging_config(2, app_location, "", upstream);
}

std::string down_line(const lg::ToggleBackend& b) {
  return "health check: upstream \"app\" server " + b.address() + " is down";
}
std::string up_line(const lg::ToggleBackend& b) {
  return "health check: upstream \"app\" server " + b.address() + " is up";
}

// n requests to /app/, each on a fresh connection; the number that were not a 200.
int requests(const it::TestServer& server, int n, std::string* first_error = nullptr) {
  int failed = 0;
  for (int i = 0; i < n; ++i) {
    try {
      const it::Response r = server.get("/app/x" + std::to_string(i));
      if (r.status != 200) {
        if (failed++ == 0 && first_error) *first_error = "status " + std::to_string(r.status);
      }
    } catch (const std::exception& e) {
      if (failed++ == 0 && first_error) *first_error = e.what();
    }
  }
  return failed;
}

bool wait_log(const it::TestServer& server, const std::string& needle,
              std::chrono::milliseconds timeout) {
  return server.wait_for_log(needle, timeout);
}

std::size_t count_in_log(const it::TestServer& server, const std::string& needle) {
  return ps::count_occurrences(server.error_log(), needle);
}

// The time of the k-th (1-based) health probe in `hits`, or nullopt.
std::optional<Clock::time_point> nth_probe(const std::vector<lg::ToggleBackend::Hit>& hits, int k) {
  int seen = 0;
  for (const auto& h : hits)
    if (h.health && ++seen == k) return h.at;
  return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(health_checks)

BOOST_AUTO_TEST_CASE(a_stopped_backend_is_marked_down_then_up) {
  lg::ToggleBackend a("a"), b("b");
  it::TestServer server(health_config(a, b), lg::populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());

  std::string why;
  BOOST_TEST_REQUIRE(requests(server, 20, &why) == 0, why);
  BOOST_TEST(a.proxied_count() > 0u);
  BOOST_TEST(b.proxied_count() > 0u);

  const auto stopped_at = Clock::now();
  b.stop();
  const auto bound = kFall * kInterval + 200ms /*probe timeout*/ + kInterval + 1000ms;
  BOOST_TEST_REQUIRE(wait_log(server, down_line(b), 3s), server.diagnostics());
  const auto took = Clock::now() - stopped_at;
  BOOST_TEST(
      took <= bound, "marked down after "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms");
  // Served by the other backend meanwhile, without failures.
  const std::size_t a_before = a.proxied_count();
  BOOST_TEST(requests(server, 30, &why) == 0, why);
  BOOST_TEST(a.proxied_count() == a_before + 30);
  std::this_thread::sleep_for(4 * kInterval);
  BOOST_TEST(count_in_log(server, down_line(b)) == 1u, server.error_log());

  // Back: only probes until it has answered `rise` of them, then traffic again.
  b.clear_hits();
  b.start();
  bool up = false;
  const auto deadline = Clock::now() + 4s;
  while (Clock::now() < deadline && !(up && b.proxied_count() > 0)) {
    BOOST_TEST(requests(server, 2, &why) == 0, why);
    up = up || count_in_log(server, up_line(b)) > 0;
  }
  BOOST_TEST_REQUIRE(up, "never marked up\n" << server.diagnostics());
  BOOST_TEST(b.proxied_count() > 0u, "no traffic after it came back");
  const auto hits = b.hits();
  const auto rise_probe = nth_probe(hits, kRise);
  BOOST_TEST_REQUIRE(rise_probe.has_value());
  for (const auto& h : hits)
    if (!h.health) BOOST_TEST((h.at >= *rise_probe), "a proxied request before the rise probe");
  std::this_thread::sleep_for(4 * kInterval);
  BOOST_TEST(count_in_log(server, up_line(b)) == 1u, server.error_log());
  BOOST_TEST(count_in_log(server, down_line(b)) == 1u, server.error_log());
}

BOOST_AUTO_TEST_CASE(a_backend_failing_its_probes_gets_no_traffic) {
  lg::ToggleBackend a("a"), b("b");
  it::TestServer server(health_config(a, b), lg::populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  std::string why;
  BOOST_TEST_REQUIRE(requests(server, 10, &why) == 0, why);

  b.clear_hits();
  b.set_healthy(false);
  BOOST_TEST_REQUIRE(wait_log(server, down_line(b), 3s), server.diagnostics());
  BOOST_TEST(requests(server, 40, &why) == 0, why);
  // Once the agent had its `fall`-th failed probe, allow the broadcast a moment to reach the
  // workers; after that nothing is proxied to b.
  const auto hits = b.hits();
  const auto fall_probe = nth_probe(hits, kFall);
  BOOST_TEST_REQUIRE(fall_probe.has_value());
  std::size_t late = 0;
  for (const auto& h : hits)
    if (!h.health && h.at > *fall_probe + 300ms) ++late;
  BOOST_TEST(late == 0u, late << " proxied requests reached b after it was marked down");

  b.set_healthy(true);
  BOOST_TEST_REQUIRE(wait_log(server, up_line(b), 3s), server.diagnostics());
  const std::size_t before = b.proxied_count();
  bool traffic = false;
  for (int i = 0; i < 50 && !traffic; ++i) {
    BOOST_TEST(requests(server, 2, &why) == 0, why);
    traffic = b.proxied_count() > before;
  }
  BOOST_TEST(traffic, "no traffic to b after it was marked up");
  BOOST_TEST(count_in_log(server, down_line(b)) == 1u);
  BOOST_TEST(count_in_log(server, up_line(b)) == 1u);
}

BOOST_AUTO_TEST_CASE(a_killed_agent_is_replaced_without_failed_requests) {
  lg::ToggleBackend a("a"), b("b");
  it::TestServer server(health_config(a, b), lg::populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const pid_t master = server.process().pid();
  const auto tree = ps::server_tree(master);
  BOOST_TEST_REQUIRE(tree.agents.size() == 1u, tree.describe());
  const pid_t old_agent = tree.agents.front();

  it::LoadOptions lo;
  lo.port = server.port();
  lo.connections = 4;
  lo.target = "/app/load";
  lo.duration = 10s;
  it::LoadDriver load(lo);
  BOOST_TEST_REQUIRE(load.wait_for_successes(50, 3s), load.snapshot().summary());

  BOOST_TEST_REQUIRE(::kill(old_agent, SIGKILL) == 0);
  pid_t new_agent = 0;
  const bool replaced = ps::wait_until(
      [&] {
        const auto t = ps::server_tree(master);
        if (t.agents.size() != 1u || t.agents.front() == old_agent) return false;
        new_agent = t.agents.front();
        return true;
      },
      5s, 10ms);
  BOOST_TEST_REQUIRE(replaced, "no new agent within 5 s: " << ps::server_tree(master).describe()
                                                           << "\n"
                                                           << server.diagnostics());
  BOOST_TEST(new_agent != old_agent);
  // The new agent probes again.
  b.clear_hits();
  BOOST_TEST(ps::wait_until([&] { return nth_probe(b.hits(), 1).has_value(); }, 2s, 10ms));
  const auto before = load.snapshot().successes;
  BOOST_TEST(load.wait_for_successes(before + 100, 3s));
  const it::LoadStats stats = load.stop();
  BOOST_TEST(stats.failures == 0u, stats.summary());
  BOOST_TEST(stats.successes > 0u);
  // Both backends still serve: the new agent did not start with anything marked down.
  BOOST_TEST(count_in_log(server, "is down") == 0u, server.error_log());
}

BOOST_AUTO_TEST_SUITE_END()
