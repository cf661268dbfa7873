// Zero-downtime reload under load: 20 HUPs, 4 per second, alternating two configurations that
// answer different bodies, while 64 clients hammer the server. Not one request may fail, and
// once the last reload is done only the last configuration's body may be served.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>
#include <thread>

#include "../harness/checks.hpp"
#include "../harness/load_driver.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/reload_support.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

constexpr int kWorkers = 2;
constexpr int kReloads = 20;
constexpr auto kReloadInterval = 250ms;  // 4 per second
const std::string kInitial = "initial configuration\n";
const std::string kBodyA = "configuration A\n";
const std::string kBodyB = "configuration B\n";

it::ReturnConfig storm_config(const std::string& body) {
  it::ReturnConfig c;
  c.body = body;
  c.workers = kWorkers;
  c.main_extra = "shutdown_timeout = \"10s\"\n";
  c.server_extra = "keepalive_requests = 1000000\n";
  return c;
}

int max_number(const std::string& log, const std::regex& re) {
  int n = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    n = std::max(n, std::stoi((*it)[1].str()));
  return n;
}

// Every HUP was received, the newest generation started is the one serving, and every older
// generation has exited (only the agent and the workers of one generation are left). Checked
// twice 100 ms apart: a reload folded into the previous one starts right after it completes.
bool settled(const it::TestServer& server, pid_t master, int hups) {
  static const std::regex complete_re(R"(reload complete: generation (\d+) is serving)");
  static const std::regex started_re(R"(started agent \(generation (\d+)\))");
  for (int round = 0; round < 2; ++round) {
    if (round > 0) std::this_thread::sleep_for(100ms);
    const std::string log = server.error_log();
    if (it::count_occurrences(log, "received HUP") < static_cast<std::size_t>(hups)) return false;
    const int serving = max_number(log, complete_re);
    if (serving == 0 || max_number(log, started_re) != serving) return false;
    auto children = it::child_pids(master);
    if (!children) return false;
    std::size_t live = 0;
    for (pid_t c : *children) live += it::process_gone(c) ? 0 : 1;
    if (live != 1 + kWorkers) return false;
  }
  return true;
}

void reload_storm(bool keep_alive) {
  it::TestServer server(it::return_config(storm_config(kInitial)));
  const pid_t master = server.process().pid();
  BOOST_TEST_CONTEXT("keep_alive=" << keep_alive) {
    it::LoadOptions options;
    options.port = server.port();
    options.connections = 64;
    options.keep_alive = keep_alive;
    options.duration = 120s;  // hard bound; stop() ends it much earlier
    it::LoadDriver load(options);
    BOOST_REQUIRE_MESSAGE(load.wait_for_successes(200, 10s),
                          "no load got through before the reloads\n"
                              << load.snapshot().summary() << server.diagnostics());

    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kReloads; ++i) {
      // Reload 1 serves A, 2 serves B, ..., 20 serves B.
      const std::string& body = i % 2 == 0 ? kBodyA : kBodyB;
      it::write_file_atomically(
          server.config_path(),
          it::substitute_port(it::return_config(storm_config(body)), server.port()));
      std::this_thread::sleep_until(start + (i + 1) * kReloadInterval);
      server.process().send_signal(SIGHUP);
      // Signals of one kind do not queue: if this thread was descheduled and sent two HUPs
      // back to back, the master would see one. Wait until it took this one. Generous: on a
      // loaded 2-core machine (64 client threads, the workers, other jobs) one fork() of the
      // master was seen to take seconds.
      const auto taken = static_cast<std::size_t>(i + 1);
      BOOST_TEST_REQUIRE(it::wait_until(
          [&] { return it::count_occurrences(server.error_log(), "received HUP") >= taken; }, 20s,
          2ms));
    }
    const bool done = it::wait_until([&] { return settled(server, master, kReloads); }, 30s);
    BOOST_TEST(done, "the reloads did not settle within 30 s");

    // From now on only the last configuration may answer.
    load.set_phase(1);
    const auto before = load.snapshot().successes;
    BOOST_TEST(load.wait_for_successes(before + 500, 10s));
    const it::LoadStats stats = load.stop();
    BOOST_TEST_MESSAGE((keep_alive ? "keep-alive" : "connection per request")
                       << ", " << kReloads << " HUPs: " << stats.summary());

    const std::string log = server.error_log();
    BOOST_TEST_CONTEXT(stats.summary() << "--- error.log (tail) ---\n"
                                       << log.substr(log.size() > 6000 ? log.size() - 6000 : 0)) {
      BOOST_TEST(stats.failures == 0U);
      BOOST_TEST(stats.successes_in(1) > 0U);
      BOOST_TEST(stats.count_other(1, kBodyB) == 0U, "bodies other than B after the last reload");
      // The reloads really happened under load: both configurations answered while it ran.
      BOOST_TEST(stats.count(0, kBodyA) > 0U);
      BOOST_TEST(stats.count(0, kBodyB) + stats.count(1, kBodyB) > 0U);
      BOOST_TEST(it::count_occurrences(log, "received HUP") == static_cast<std::size_t>(kReloads));
      BOOST_TEST(it::count_occurrences(log, "reload complete") >= 2U);
      BOOST_TEST(!it::contains(log, "reload failed"));
      BOOST_TEST(!it::contains(log, "generations draining"));
      BOOST_TEST(!it::contains(log, "shutdown_timeout reached"));
      if (keep_alive) BOOST_TEST(stats.connection_close > 0U, "no keep-alive connection drained");
    }
    BOOST_TEST(server.get("/").body == kBodyB);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reload_under_load)

BOOST_AUTO_TEST_CASE(twenty_hups_keep_alive_connections_zero_failures) {
  reload_storm(true);
}

BOOST_AUTO_TEST_CASE(twenty_hups_connection_per_request_zero_failures) {
  reload_storm(false);
}

BOOST_AUTO_TEST_SUITE_END()
