// The process tree an operator sees with ps(1): one master (the pid in the pid file), one agent
// and worker_processes workers, all children of the master, each with its title; the agent's
// IPC round trip through the master to every worker; the pid-file lock against a second
// instance.
#include <sys/types.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;

namespace {

struct ThreeWorkers : it::TestServer {
  ThreeWorkers() : it::TestServer(proc::process_config(3), proc::populate) {}
  proc::DumpOnFailure dump{*this};
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(process_model_tree, ThreeWorkers)

BOOST_AUTO_TEST_CASE(one_master_one_agent_three_workers_by_title) {
  proc::require_ready(*this, 3);
  const pid_t master = process().pid();
  BOOST_TEST_CONTEXT(diagnostics()) {
    // The pid file names the master, and the master says what it is.
    BOOST_TEST(ps::pid_from_file(dir() / "serverd.pid").value_or(0) == master);
    const auto info = ps::proc_info(master);
    BOOST_TEST_REQUIRE(info.has_value());
    BOOST_TEST(info->title == ps::kMasterTitle);

    const ps::ServerTree tree = ps::server_tree(master);
    BOOST_TEST_CONTEXT("children of the master: " << tree.describe()) {
      BOOST_TEST(tree.agents.size() == 1U);
      BOOST_TEST(tree.workers.size() == 3U);
      BOOST_TEST(tree.others.empty());
      // Every child's parent is the master, and none of them calls itself a master.
      for (const auto& child : ps::children_of(master)) {
        BOOST_TEST(child.ppid == master);
        BOOST_TEST(child.title != ps::kMasterTitle);
      }
    }
    // The workers' pids are the ones the master logged for slots 0, 1 and 2.
    const auto slots = ps::worker_pids_by_slot(error_log());
    BOOST_TEST(slots.size() == 3U);
    for (const auto& [slot, pid] : slots) {
      BOOST_TEST_CONTEXT("worker #" << slot << " (pid " << pid << ")") {
        BOOST_TEST(slot >= 0);
        BOOST_TEST(slot <= 2);
        const auto w = ps::proc_info(pid);
        BOOST_TEST_REQUIRE(w.has_value());
        BOOST_TEST(w->title == ps::kWorkerTitle);
        BOOST_TEST(w->ppid == master);
      }
    }
    BOOST_TEST(ps::count_occurrences(error_log(), proc::ready_line(3)) == 1U);
    BOOST_TEST(ps::count_occurrences(error_log(), "#master: started agent (pid ") == 1U);
    it::check_fixed_body(fetch(proc::ok_request()), proc::kBody);
  }
}

BOOST_AUTO_TEST_CASE(agent_gets_a_pong_from_every_worker) {
  proc::require_ready(*this, 3);
  BOOST_TEST_CONTEXT(diagnostics()) {
    for (int n = 0; n < 3; ++n) {
      const std::string needle = "#agent: ipc round trip: pong from worker #" + std::to_string(n);
      BOOST_TEST(wait_for_log(needle, 3s), "no \"" << needle << "\" within 3 s");
    }
    const std::string log = error_log();
    // Exactly one pong per worker: nothing duplicated, no phantom slot.
    for (int n = 0; n < 3; ++n)
      BOOST_TEST(ps::count_occurrences(log, "pong from worker #" + std::to_string(n) + " ") == 1U);
    BOOST_TEST(ps::count_occurrences(log, "pong from worker #3") == 0U);
    // The lines come from the agent's own pid.
    const ps::ServerTree tree = ps::server_tree(process().pid());
    BOOST_TEST_REQUIRE(tree.agents.size() == 1U);
    BOOST_TEST(
        ps::lines_with(log, std::to_string(tree.agents[0]) + "#agent: ipc round trip").size() ==
        3U);
  }
}

BOOST_AUTO_TEST_CASE(second_instance_with_the_same_pid_file_is_refused) {
  proc::require_ready(*this, 3);
  const auto pid_path = dir() / "serverd.pid";
  // Another port (ports are bound before the pid file is taken), the same pid file.
  const int other_port = it::pick_free_port();
  std::string second = proc::process_config(1);
  second.replace(second.find("pid_file = \"serverd.pid\""),
                 std::string("pid_file = \"serverd.pid\"").size(),
                 "pid_file = \"" + pid_path.string() + "\"");
  second.replace(second.find("error_log = \"error.log\""),
                 std::string("error_log = \"error.log\"").size(), "error_log = \"second.log\"");
  const auto second_config =
      dir().write("second/serverd.toml", it::substitute_port(second, other_port));
  const it::CommandResult r = it::run_serverd({"-c", second_config.string()}, 5s);
  BOOST_TEST_CONTEXT("second instance: exit " << r.exit_code << "\n" << r.output()) {
    BOOST_TEST(!r.timed_out, "the second instance kept running");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(it::contains(r.err, "another serverd"));
    BOOST_TEST(it::contains(r.err, pid_path.string()));
    BOOST_TEST(it::contains(r.err, std::to_string(process().pid())),
               "the message does not name the running master's pid");
  }
  BOOST_TEST_CONTEXT(diagnostics()) {
    // The first instance is untouched: its pid file, its process, its service.
    BOOST_TEST(ps::pid_from_file(pid_path).value_or(0) == process().pid());
    BOOST_TEST(process().alive());
    it::check_fixed_body(fetch(proc::ok_request()), proc::kBody);
    BOOST_TEST(!it::port_accepts(other_port, 200ms), "the second instance left its port bound");
  }
}

BOOST_AUTO_TEST_SUITE_END()
