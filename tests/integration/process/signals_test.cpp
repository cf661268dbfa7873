// USR1 (and `serverd -s reopen`): every process reopens the error log, so logrotate can move
// it away. WINCH: the workers leave gracefully, the master and agent stay (and still obey QUIT).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;

namespace {

struct TwoWorkers : it::TestServer {
  TwoWorkers() : it::TestServer(proc::process_config(2), proc::populate) {
    proc::require_ready(*this, 2);
    // Everyone is up and has logged (the agent's round trip reached both workers).
    BOOST_TEST_REQUIRE(wait_for_log("pong from worker #0", 3s), diagnostics());
    BOOST_TEST_REQUIRE(wait_for_log("pong from worker #1", 3s), diagnostics());
    master = process().pid();
    const ps::ServerTree t = ps::server_tree(master);
    BOOST_TEST_REQUIRE(t.agents.size() == 1U, t.describe());
    agent = t.agents[0];
    workers = ps::worker_pids_by_slot(error_log());
    BOOST_TEST_REQUIRE(workers.size() == 2U, diagnostics());
  }
  proc::DumpOnFailure dump{*this};
  pid_t master = 0;
  pid_t agent = 0;
  std::map<int, pid_t> workers;  // by slot

  // "PID#role: TEXT" for the master, the agent and each worker.
  std::vector<std::string> reopen_lines() const {
    std::vector<std::string> l{
        std::to_string(master) + "#master: received USR1: reopened log files",
        std::to_string(agent) + "#agent: reopened log files"};
    for (const auto& [slot, pid] : workers)
      l.push_back(std::to_string(pid) + "#worker #" + std::to_string(slot) +
                  ": reopened log files");
    return l;
  }

  // Moves error.log away, runs `trigger`, and checks that the new error.log gets one
  // "reopened log files" line from every process while the moved file gets none.
  template <class Trigger>
  void check_reopen(const Trigger& trigger) {
    const auto log = dir() / "error.log";
    const auto moved = dir() / "error.log.1";
    std::filesystem::rename(log, moved);
    trigger();
    const auto expected = reopen_lines();
    const bool all = ps::wait_until(
        [&] {
          const std::string now = error_log();
          for (const auto& e : expected)
            if (!it::contains(now, e)) return false;
          return true;
        },
        3s);
    BOOST_TEST_CONTEXT(diagnostics() << "--- error.log.1 ---\n" << it::read_file(moved)) {
      BOOST_TEST(std::filesystem::exists(log), "no new error.log was created");
      BOOST_TEST(all, "not every process wrote \"reopened log files\" to the new error.log");
      const std::string fresh = error_log();
      for (const auto& e : expected) BOOST_TEST(ps::count_occurrences(fresh, e) == 1U, e);
      BOOST_TEST(ps::count_occurrences(fresh, "reopened log files") == expected.size());
      const std::string old = it::read_file(moved);
      BOOST_TEST(it::contains(old, proc::ready_line(2)), "the moved file lost its content");
      BOOST_TEST(!it::contains(old, "reopened log files"),
                 "the moved-away error.log was written to after the reopen");
      // And the server goes on serving.
      it::check_fixed_body(fetch(proc::ok_request()), proc::kBody);
    }
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(process_model_signals, TwoWorkers)

BOOST_AUTO_TEST_CASE(usr1_reopens_the_error_log_in_every_process) {
  check_reopen([&] { process().send_signal(SIGUSR1); });
}

BOOST_AUTO_TEST_CASE(s_reopen_reopens_the_error_log_in_every_process) {
  check_reopen([&] {
    const it::CommandResult r = it::run_serverd({"-c", config_path().string(), "-s", "reopen"}, 5s);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0, r.output());
  });
}

BOOST_AUTO_TEST_CASE(winch_stops_the_workers_and_keeps_master_and_agent) {
  std::optional<it::HttpConnection> idle(connect());
  std::string why;
  BOOST_TEST_REQUIRE(proc::request_ok(*idle, &why), why);
  expect_clean_exit(false);  // stopped with QUIT below

  process().send_signal(SIGWINCH);
  BOOST_TEST_CONTEXT(diagnostics()) {
    // Gracefully: the idle keep-alive connection gets a FIN after the grace period (and the
    // client closes its side), then each worker exits with status 0.
    BOOST_TEST(it::to_string(idle->wait_for_close(2s).kind) == std::string("fin"));
    idle.reset();
    std::vector<pid_t> worker_pids;
    for (const auto& [slot, pid] : workers) worker_pids.push_back(pid);
    BOOST_TEST_REQUIRE(proc::all_gone(worker_pids, 2s),
                       "workers still running 2 s after WINCH and FIN: "
                           << proc::pids_text(proc::alive_of(worker_pids)));
    BOOST_TEST(it::contains(error_log(), "received WINCH: stopping workers gracefully"));
    for (const auto& [slot, pid] : workers) {
      const std::string line = "worker #" + std::to_string(slot) + " (pid " + std::to_string(pid) +
                               ") exited with status 0";
      BOOST_TEST(wait_for_log(line, 1s), line);
    }

    // No worker comes back; master and agent stay.
    std::this_thread::sleep_for(300ms);
    const ps::ServerTree t = ps::server_tree(master);
    BOOST_TEST(t.workers.empty(), t.describe());
    BOOST_TEST(t.agents == std::vector<pid_t>{agent}, t.describe());
    BOOST_TEST(process().alive());
    BOOST_TEST(ps::worker_pids_started(error_log(), 0).size() == 1U, "worker #0 was respawned");

    // The port is not served any more: refused, or no answer.
    try {
      it::HttpConnection conn = it::HttpConnection::connect(port(), 300ms);
      conn.try_send(proc::ok_request());
      it::ReadOptions ro;
      ro.timeout = 500ms;
      const it::ReadResult r = conn.read_response(ro);
      BOOST_TEST(it::to_string(r.status) != std::string("ok"),
                 "a request was answered after WINCH: " << it::printable(r.response.raw_head));
    } catch (const std::exception& e) {
      BOOST_TEST_MESSAGE("after WINCH: " << e.what());
    }

    // The master still obeys QUIT: it exits with 0 and takes the agent along.
    process().send_signal(SIGQUIT);
    const bool exited = process().wait_exit(3s);
    BOOST_TEST(exited, "the master did not exit within 3 s of QUIT after WINCH");
    if (exited) {
      const int st = process().wait_status().value_or(-1);
      BOOST_TEST(WIFEXITED(st));
      BOOST_TEST(WEXITSTATUS(st) == 0);
    }
    BOOST_TEST(proc::all_gone({agent}, 1s), "the agent outlived the master");
    BOOST_TEST(!std::filesystem::exists(dir() / "serverd.pid"), "the pid file was left behind");
  }
}

BOOST_AUTO_TEST_SUITE_END()
