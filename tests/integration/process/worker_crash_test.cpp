// Supervision: a worker killed with SIGKILL under load is replaced in its slot at once, the
// other worker's connections and new connections keep being served, and only connections the
// dead worker owned can fail; a worker that keeps dying is respawned with exponential backoff.
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../harness/background_load.hpp"
#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

long long ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// Kills one of two workers with SIGKILL while 16 keep-alive connections are open and a
// background client keeps making requests; checks replacement, survivors and failures.
// `pick_most_loaded`: kill the worker that owns the most connections (with a shared listening
// socket and EPOLLEXCLUSIVE, an idle server hands all of them to one worker); otherwise kill
// worker #0 and require both workers to own connections (SO_REUSEPORT spreads them).
void kill_a_worker_under_load(std::string_view listen, bool pick_most_loaded) {
  it::TestServer server(proc::process_config(2, "", listen), proc::populate);
  const proc::DumpOnFailure dump(server);
  proc::require_ready(server, 2);
  const pid_t master = server.process().pid();
  const int port = server.port();
  const auto slots = ps::worker_pids_by_slot(server.error_log());
  BOOST_TEST_REQUIRE(slots.size() == 2U, server.diagnostics());
  const std::vector<pid_t> workers{slots.at(0), slots.at(1)};

  // 16 keep-alive connections, one request on each, and who owns each of them.
  constexpr int kConnections = 16;
  std::vector<it::HttpConnection> conns;
  std::vector<pid_t> owner;
  for (int i = 0; i < kConnections; ++i) {
    conns.push_back(it::HttpConnection::connect(port));
    std::string why;
    BOOST_TEST_REQUIRE(proc::request_ok(conns.back(), &why), "connection " << i << ": " << why);
    owner.push_back(ps::connection_owner(port, conns.back().fd(), workers));
    BOOST_TEST_REQUIRE(owner.back() != 0, "connection " << i << " is owned by no worker");
  }
  std::map<pid_t, int> owned;
  for (pid_t p : owner) ++owned[p];
  int victim_slot = 0;
  if (pick_most_loaded) {
    victim_slot = owned[workers[1]] > owned[workers[0]] ? 1 : 0;
  } else {
    BOOST_TEST_REQUIRE(owned[workers[0]] > 0, "worker #0 owns no connection");
    BOOST_TEST_REQUIRE(owned[workers[1]] > 0, "worker #1 owns no connection");
  }
  const pid_t victim = workers[static_cast<std::size_t>(victim_slot)];
  const pid_t survivor = workers[static_cast<std::size_t>(1 - victim_slot)];
  BOOST_TEST_MESSAGE("keep-alive connections: worker #"
                     << victim_slot << " (victim, pid " << victim << ") owns " << owned[victim]
                     << ", the other worker (pid " << survivor << ") owns " << owned[survivor]);

  ps::LoadOptions lo;
  lo.port = port;
  lo.request = proc::ok_request();
  lo.expected_body = std::string(proc::kBody);
  lo.candidates = [master] { return it::child_pids(master).value_or(std::vector<pid_t>{}); };
  lo.max_requests = 400;
  lo.max_duration = 5s;
  lo.pause = 2ms;
  ps::BackgroundLoad load(lo);
  BOOST_TEST_REQUIRE(ps::wait_until([&] { return load.completed() >= 20; }, 3s),
                     "the background load does not get going");

  const Clock::time_point kill_time = Clock::now();
  BOOST_TEST_REQUIRE(::kill(victim, SIGKILL) == 0);

  // (a) A replacement in the same slot within 1 s: a new pid, a worker's title, the master's
  // child, announced in the log.
  pid_t replacement = 0;
  const bool replaced = ps::wait_until(
      [&] {
        const auto now = ps::worker_pids_by_slot(server.error_log());
        const auto found = now.find(victim_slot);
        if (found == now.end() || found->second == victim) return false;
        const auto info = ps::proc_info(found->second);
        if (!info || info->title != ps::kWorkerTitle || info->ppid != master) return false;
        replacement = found->second;
        return true;
      },
      1s, 2ms);
  const long long replaced_after = ms_between(kill_time, Clock::now());
  std::this_thread::sleep_for(500ms);  // the load goes on with the replacement in place
  const std::vector<ps::LoadSample> samples = load.stop();

  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(replaced, "no new worker #" << victim_slot << " within 1 s of the kill");
    BOOST_TEST_MESSAGE("replacement worker #" << victim_slot << " (pid " << replacement
                                              << ") after " << replaced_after << " ms");
    const std::string log = server.error_log();
    BOOST_TEST(it::contains(log, "worker #" + std::to_string(victim_slot) + " (pid " +
                                     std::to_string(victim) + ") killed by signal 9"));
    BOOST_TEST(it::contains(log, "started worker #" + std::to_string(victim_slot) + " (pid " +
                                     std::to_string(replacement) + ")"));
    BOOST_TEST(ps::process_alive(survivor), "the other worker died too");
    const ps::ServerTree tree = ps::server_tree(master);
    BOOST_TEST(tree.workers.size() == 2U, tree.describe());
    BOOST_TEST(tree.agents.size() == 1U, tree.describe());

    // (b) Every connection the other worker owns still gets its 200; the victim's cannot (which
    // also proves the ownership map was right).
    int survivors_ok = 0;
    int victims_failed = 0;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      std::string why;
      const bool ok = proc::request_ok(conns[i], &why);
      if (owner[i] == victim) {
        BOOST_TEST(!ok, "connection " << i << " of the killed worker still answered");
        victims_failed += ok ? 0 : 1;
      } else {
        BOOST_TEST(ok, "connection " << i << " of the surviving worker: " << why);
        survivors_ok += ok ? 1 : 0;
      }
    }
    BOOST_TEST_MESSAGE("after the kill: " << survivors_ok << "/" << owned[survivor]
                                          << " connections of the surviving worker answered 200, "
                                          << victims_failed << "/" << owned[victim]
                                          << " of the killed worker's failed");

    // (c) New connections are served.
    for (int i = 0; i < 10; ++i) {
      std::string why;
      BOOST_TEST(proc::fresh_request_ok(port, &why), "new connection " << i << ": " << why);
    }

    // The background load: only requests caught by the kill on connections the killed worker
    // owned (or may have owned: it died before the lookup) can fail.
    int ok = 0;
    int excused = 0;
    int after = 0;
    std::vector<std::string> unexplained;
    for (const auto& s : samples) {
      if (s.start >= kill_time) ++after;
      if (s.ok) {
        ++ok;
        continue;
      }
      const bool spans_kill = s.end >= kill_time && s.start <= kill_time + 100ms;
      const bool victims = s.owner == victim || s.owner == 0;
      if (s.connected && spans_kill && victims) {
        ++excused;
        continue;
      }
      unexplained.push_back("request at " + std::to_string(ms_between(kill_time, s.start)) +
                            " ms from the kill, owner pid " + std::to_string(s.owner) +
                            (s.connected ? "" : " (connect failed)") + ": " + s.error);
    }
    BOOST_TEST_MESSAGE("background load: " << samples.size() << " requests (" << after
                                           << " after the kill), " << ok << " ok, " << excused
                                           << " failed on the killed worker's connections, "
                                           << unexplained.size() << " failed otherwise");
    BOOST_TEST(after >= 10, "too few background requests after the kill to mean anything");
    BOOST_TEST(
        unexplained.empty(), "failures the kill does not explain:\n"
                                 << [&] {
                                      std::string all;
                                      for (const auto& u : unexplained) all += u + "\n";
                                      return all;
                                    }());
  }
}

std::vector<std::pair<int, int>> crash_loop_lines(std::string_view log, int slot) {
  const std::regex re(
      "worker #" + std::to_string(slot) +
      R"( is crash-looping \(([0-9]+) failures in a row\): respawning in ([0-9]+)ms)");
  std::vector<std::pair<int, int>> out;
  for (const std::string& line : ps::lines_with(log, "is crash-looping")) {
    std::smatch m;
    if (std::regex_search(line, m, re)) out.emplace_back(std::stoi(m[1]), std::stoi(m[2]));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_model_crash)

BOOST_AUTO_TEST_CASE(sigkill_of_a_worker_under_load_shared_listener) {
  kill_a_worker_under_load(R"(["127.0.0.1:{PORT}"])", true);
}

BOOST_AUTO_TEST_CASE(sigkill_of_a_worker_under_load_reuseport) {
  kill_a_worker_under_load(R"([{ address = "127.0.0.1:{PORT}", reuseport = true }])", false);
}

BOOST_AUTO_TEST_CASE(crash_loop_backs_off_exponentially) {
  it::TestServer server(proc::process_config(2), proc::populate);
  const proc::DumpOnFailure dump(server);
  proc::require_ready(server, 2);
  const pid_t master = server.process().pid();
  const int port = server.port();
  BOOST_TEST_REQUIRE(ps::worker_pids_started(server.error_log(), 0).size() == 1U);

  // Kill worker #0 as soon as each replacement appears, five times in a row.
  constexpr int kKills = 5;
  std::vector<pid_t> killed;
  std::vector<long long> respawn_ms;  // from each kill to the next "started worker #0"
  pid_t current = ps::worker_pids_started(server.error_log(), 0).front();
  for (int k = 0; k < kKills; ++k) {
    BOOST_TEST_REQUIRE(::kill(current, SIGKILL) == 0);
    const auto t = Clock::now();
    killed.push_back(current);
    std::vector<pid_t> started;
    const bool next = ps::wait_until(
        [&] {
          started = ps::worker_pids_started(server.error_log(), 0);
          return started.size() > killed.size();
        },
        3s, 2ms);
    BOOST_TEST_REQUIRE(next, "no worker #0 started within 3 s of kill " << k + 1 << "\n"
                                                                        << server.diagnostics());
    respawn_ms.push_back(ms_between(t, Clock::now()));
    current = started.back();
  }

  BOOST_TEST_CONTEXT(server.diagnostics()) {
    const std::string log = server.error_log();
    for (pid_t p : killed)
      BOOST_TEST(it::contains(log, "worker #0 (pid " + std::to_string(p) + ") killed by signal 9"));
    // The first death is replaced at once; then 100, 200, 400, 800 ms.
    BOOST_TEST(ps::count_occurrences(log, "respawning worker #0\n") == 1U);
    const auto lines = crash_loop_lines(log, 0);
    const std::vector<std::pair<int, int>> expected{{2, 100}, {3, 200}, {4, 400}, {5, 800}};
    BOOST_TEST_REQUIRE(lines.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      BOOST_TEST(lines[i].first == expected[i].first);
      BOOST_TEST(lines[i].second == expected[i].second);
    }
    // The delays are real: each replacement came no earlier than announced.
    std::string timing;
    for (std::size_t i = 0; i < respawn_ms.size(); ++i)
      timing += (i ? ", " : "") + std::to_string(respawn_ms[i]) + " ms";
    BOOST_TEST_MESSAGE("kill -> next worker #0: " << timing);
    BOOST_TEST(respawn_ms[0] < 500);
    for (std::size_t i = 1; i < respawn_ms.size(); ++i)
      BOOST_TEST(respawn_ms[i] >= expected[i - 1].second * 9 / 10,
                 "respawn " << i + 1 << " after " << respawn_ms[i] << " ms, announced "
                            << expected[i - 1].second << " ms");
    // The other worker never stopped serving, and the last replacement stays up and serves.
    const pid_t last = current;
    const bool last_ready = ps::wait_until(
        [&] {
          return it::contains(server.error_log(),
                              "worker #0 (pid " + std::to_string(last) + ") is ready");
        },
        2s);
    BOOST_TEST(last_ready, "the last worker #0 (pid " << last << ") never became ready");
    BOOST_TEST(ps::process_alive(last));
    const ps::ServerTree tree = ps::server_tree(master);
    BOOST_TEST(tree.workers.size() == 2U, tree.describe());
    BOOST_TEST((std::find(tree.workers.begin(), tree.workers.end(), last) != tree.workers.end()));
    for (int i = 0; i < 10; ++i) {
      std::string why;
      BOOST_TEST(proc::fresh_request_ok(port, &why), "request " << i << ": " << why);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
