// Shutdown as an operator drives it: QUIT (or `serverd -s quit`) finishes what is in flight,
// refuses new connections, closes idle keep-alive connections with a FIN after the grace
// period, then every process exits with the pid file removed; TERM is over within a second,
// load or not.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../harness/background_load.hpp"
#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct TwoWorkers : it::TestServer {
  TwoWorkers()
      : it::TestServer(proc::process_config(2, "shutdown_timeout = \"10s\"\n"), proc::populate) {
    proc::require_ready(*this, 2);
    tree = proc::whole_tree(process().pid());
    // Tests here stop the server themselves and check how it went.
    expect_clean_exit(false);
  }
  std::vector<pid_t> tree;  // master, agent, workers at start
  proc::DumpOnFailure dump{*this};

  // After a shutdown: the master exited with 0 within `timeout`, every process of the tree is
  // gone, and the pid file was removed.
  void check_everything_exited(std::chrono::milliseconds timeout) {
    const bool exited = process().wait_exit(timeout);
    BOOST_TEST(exited, "the master did not exit within " << timeout.count() << " ms");
    if (exited) {
      const int st = process().wait_status().value_or(-1);
      BOOST_TEST(WIFEXITED(st));
      BOOST_TEST(WEXITSTATUS(st) == 0);
    }
    BOOST_TEST(proc::all_gone(tree, 1s),
               "still running: " << proc::pids_text(proc::alive_of(tree)));
    BOOST_TEST(!std::filesystem::exists(dir() / "serverd.pid"), "the pid file was left behind");
    BOOST_TEST(it::contains(error_log(), "#master: exiting"));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(process_model_shutdown, TwoWorkers)

BOOST_AUTO_TEST_CASE(quit_finishes_a_slow_request_and_refuses_new_connections) {
  // A POST whose 20-byte body arrives one byte every 50 ms; QUIT after the 4th byte.
  std::optional<it::HttpConnection> slow(connect());
  slow->send("POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\n\r\n");
  Clock::time_point quit_time{};
  std::vector<std::pair<long long, ps::ConnectOutcome>> probes;  // ms after QUIT, outcome
  bool body_sent = true;
  for (int i = 0; i < 20 && body_sent; ++i) {
    const auto step = Clock::now();
    if (i == 4) {
      process().send_signal(SIGQUIT);
      quit_time = Clock::now();
    }
    body_sent = slow->try_send(std::string(1, static_cast<char>('a' + i)));
    if (i > 4) probes.emplace_back(ms_since(quit_time), ps::try_connect(port(), 30ms));
    std::this_thread::sleep_until(step + 50ms);
  }
  BOOST_TEST_CONTEXT(diagnostics()) {
    BOOST_TEST_REQUIRE(body_sent, "the server stopped reading the body of the slow request");
    it::ReadOptions ro;
    ro.timeout = 3s;
    const it::ReadResult r = slow->read_response(ro);
    BOOST_TEST_REQUIRE(it::to_string(r.status) == std::string("ok"), r.error);
    it::check_fixed_body(r.response, "slow done\n");
    BOOST_TEST(r.response.header("Connection").value_or("<none>") == "close");
    BOOST_TEST(it::to_string(slow->wait_for_close(2s).kind) == std::string("fin"));
    slow.reset();  // a client closes its side once it has seen the FIN

    // New connections are refused soon after QUIT (from 250 ms on), not left hanging in a
    // listen queue nobody accepts from any more.
    std::string timeline;
    int late_connected = 0;
    for (const auto& [ms, outcome] : probes) {
      timeline += "+" + std::to_string(ms) + "ms " + ps::to_string(outcome) + "; ";
      if (ms >= 250 && outcome != ps::ConnectOutcome::refused) ++late_connected;
    }
    BOOST_TEST_MESSAGE("connection attempts after QUIT: " << timeline);
    BOOST_TEST(late_connected == 0, "connection attempts after QUIT: " << timeline);

    check_everything_exited(3s);
    BOOST_TEST(it::contains(error_log(), "received QUIT: graceful shutdown"));
  }
}

BOOST_AUTO_TEST_CASE(quit_closes_idle_keep_alive_connections_with_a_fin_after_the_grace) {
  std::optional<it::HttpConnection> idle(connect());
  std::optional<it::HttpConnection> late(connect());
  std::string why;
  BOOST_TEST_REQUIRE(proc::request_ok(*idle, &why), why);
  BOOST_TEST_REQUIRE(proc::request_ok(*late, &why), why);

  process().send_signal(SIGQUIT);
  const auto quit_time = Clock::now();
  BOOST_TEST_CONTEXT(diagnostics()) {
    // A request sent within the grace period is answered, with "Connection: close", then FIN.
    std::this_thread::sleep_until(quit_time + 300ms);
    BOOST_TEST_REQUIRE(late->try_send(proc::ok_request()));
    const it::ReadResult r = late->read_response();
    BOOST_TEST_REQUIRE(it::to_string(r.status) == std::string("ok"), r.error);
    it::check_fixed_body(r.response, proc::kBody);
    BOOST_TEST(r.response.header("Connection").value_or("<none>") == "close");
    const it::CloseResult late_close = late->wait_for_close(2s);
    BOOST_TEST(it::to_string(late_close.kind) == std::string("fin"));
    BOOST_TEST(late_close.data.empty(), it::printable(late_close.data));
    late.reset();  // a client closes its side once it has seen the FIN

    // The idle one gets a FIN (read returns 0) after about the 1 s grace, never a reset.
    const it::CloseResult c = idle->wait_for_close(3s);
    const long long closed_after = ms_since(quit_time);
    BOOST_TEST_MESSAGE("idle keep-alive connection closed " << closed_after << " ms after QUIT ("
                                                            << it::to_string(c.kind) << ")");
    BOOST_TEST(it::to_string(c.kind) == std::string("fin"));
    BOOST_TEST(c.data.empty(), "sent on an idle connection: " << it::printable(c.data));
    BOOST_TEST(closed_after >= 700, "closed before the grace period: " << closed_after << " ms");
    BOOST_TEST(closed_after <= 2000, "closed " << closed_after << " ms after QUIT");
    idle.reset();

    check_everything_exited(3s);
  }
}

BOOST_AUTO_TEST_CASE(term_stops_everything_within_a_second) {
  it::HttpConnection idle = connect();
  std::string why;
  BOOST_TEST_REQUIRE(proc::request_ok(idle, &why), why);
  const auto t = Clock::now();
  process().send_signal(SIGTERM);
  BOOST_TEST_CONTEXT(diagnostics()) {
    const bool exited = process().wait_exit(1s);
    BOOST_TEST(exited, "the master did not exit within 1 s of TERM");
    BOOST_TEST(proc::all_gone(tree, std::chrono::milliseconds(std::max(0LL, 1000 - ms_since(t)))),
               "still running 1 s after TERM: " << proc::pids_text(proc::alive_of(tree)));
    BOOST_TEST_MESSAGE("TERM: everything gone after " << ms_since(t) << " ms");
    check_everything_exited(100ms);
    BOOST_TEST(it::contains(error_log(), "received TERM: fast shutdown"));
    BOOST_TEST(!it::port_accepts(port(), 200ms));
  }
}

BOOST_AUTO_TEST_CASE(term_under_load_stops_everything_within_a_second) {
  // Two clients hammering, a few idle keep-alive connections, a request with half its body.
  ps::LoadOptions lo;
  lo.port = port();
  lo.request = proc::ok_request();
  lo.expected_body = std::string(proc::kBody);
  lo.max_requests = 5000;
  lo.max_duration = 4s;
  lo.pause = 0ms;
  lo.timeout = 1s;
  ps::BackgroundLoad load1(lo);
  ps::BackgroundLoad load2(lo);
  std::vector<it::HttpConnection> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(connect());
    std::string why;
    BOOST_TEST_REQUIRE(proc::request_ok(idle.back(), &why), why);
  }
  it::HttpConnection half = connect();
  half.send("POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234");
  BOOST_TEST_REQUIRE(
      ps::wait_until([&] { return load1.completed() >= 20 && load2.completed() >= 20; }, 3s));

  const auto t = Clock::now();
  process().send_signal(SIGTERM);
  const bool exited = process().wait_exit(1s);
  const bool gone =
      proc::all_gone(tree, std::chrono::milliseconds(std::max(0LL, 1000 - ms_since(t))));
  const long long took = ms_since(t);
  const auto s1 = load1.stop();
  const auto s2 = load2.stop();
  BOOST_TEST_CONTEXT(diagnostics()) {
    BOOST_TEST_MESSAGE("TERM under load (" << s1.size() + s2.size()
                                           << " requests made): everything gone after " << took
                                           << " ms");
    BOOST_TEST(exited, "the master did not exit within 1 s of TERM");
    BOOST_TEST(gone, "still running 1 s after TERM: " << proc::pids_text(proc::alive_of(tree)));
    check_everything_exited(100ms);
  }
}

BOOST_AUTO_TEST_CASE(s_quit_works_like_sigquit) {
  std::optional<it::HttpConnection> idle(connect());
  std::string why;
  BOOST_TEST_REQUIRE(proc::request_ok(*idle, &why), why);
  const it::CommandResult r = it::run_serverd({"-c", config_path().string(), "-s", "quit"}, 5s);
  BOOST_TEST_CONTEXT(diagnostics() << "\n--- serverd -s quit ---\n" << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(it::to_string(idle->wait_for_close(3s).kind) == std::string("fin"));
    idle.reset();  // a client closes its side once it has seen the FIN
    check_everything_exited(3s);
    BOOST_TEST(it::contains(error_log(), "received QUIT: graceful shutdown"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
