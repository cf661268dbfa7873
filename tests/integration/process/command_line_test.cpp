// `serverd -s SIGNAL` when no master runs (a clear message naming the pid file or the control
// socket, non-zero exit), an invalid signal name (exit 2), and `daemon = true`: the command
// returns at once while a detached master keeps serving.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/temp_dir.hpp"
#include "process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Writes a config (pid file in the directory, no server running) and returns its path.
std::filesystem::path write_config(const it::TempDir& dir, std::string_view main_lines = "") {
  proc::populate(dir);
  return dir.write("serverd.toml",
                   it::substitute_port(proc::process_config(2, main_lines), it::pick_free_port()));
}

// Processes the daemon test found, SIGKILLed at the end if anything is left (a failed test
// must not leave a detached server running). Only pids verified to be serverd processes of
// this test are recorded.
struct DaemonCleanup {
  std::vector<pid_t> pids;
  ~DaemonCleanup() {
    for (pid_t p : pids) {
      const auto info = ps::proc_info(p);
      if (info && info->state != 'Z' && info->title.starts_with("serverd: ")) ::kill(p, SIGKILL);
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(process_model_command_line)

BOOST_AUTO_TEST_CASE(signals_without_a_master_name_the_pid_file) {
  it::TempDir dir;
  const auto config = write_config(dir);
  const std::string pid_file = (dir / "serverd.pid").string();
  for (const char* sig : {"stop", "quit", "reopen"}) {
    const it::CommandResult r = it::run_serverd({"-c", config.string(), "-s", sig}, 5s);
    BOOST_TEST_CONTEXT("serverd -s " << sig << ": exit " << r.exit_code << "\n" << r.output()) {
      BOOST_TEST(!r.timed_out);
      BOOST_TEST(r.exit_code != 0);
      BOOST_TEST(r.exit_code != 2, "2 is for usage errors");
      BOOST_TEST(it::contains(r.err, pid_file), "the message does not name the pid file");
      BOOST_TEST(r.out.empty());
    }
  }
  // A stale pid file (no such process) is reported too, not silently "successful".
  dir.write("serverd.pid", "2147483647\n");
  const it::CommandResult r = it::run_serverd({"-c", config.string(), "-s", "stop"}, 5s);
  BOOST_TEST_CONTEXT("serverd -s stop, stale pid file: exit " << r.exit_code << "\n"
                                                              << r.output()) {
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(it::contains(r.err, "2147483647"));
  }
}

BOOST_AUTO_TEST_CASE(reload_and_upgrade_without_a_master_name_the_control_socket) {
  it::TempDir dir;
  const auto config = write_config(dir);
  const std::string socket = (dir / "serverd.pid.ctl").string();
  for (const char* sig : {"reload", "upgrade"}) {
    const auto t = Clock::now();
    const it::CommandResult r = it::run_serverd({"-c", config.string(), "-s", sig}, 5s);
    BOOST_TEST_CONTEXT("serverd -s " << sig << ": exit " << r.exit_code << "\n" << r.output()) {
      BOOST_TEST(!r.timed_out);
      BOOST_TEST((Clock::now() - t < 3s), "it waited for an absent master");
      BOOST_TEST(r.exit_code != 0);
      BOOST_TEST(r.exit_code != 2);
      BOOST_TEST(it::contains(r.err, socket), "the message does not name the control socket");
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_signal_name_exits_2) {
  it::TempDir dir;
  const auto config = write_config(dir);
  const it::CommandResult r = it::run_serverd({"-c", config.string(), "-s", "bogus"}, 5s);
  BOOST_TEST_CONTEXT("exit " << r.exit_code << "\n" << r.output()) {
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(it::contains(r.err, "bogus"));
    // The message lists what is valid.
    for (const char* valid : {"quit", "stop", "reopen", "reload"})
      BOOST_TEST(it::contains(r.err, valid), valid);
  }
}

BOOST_AUTO_TEST_CASE(daemon_returns_at_once_and_keeps_serving) {
  it::TempDir dir;
  proc::populate(dir);
  const int port = it::pick_free_port();
  const auto config = dir.write(
      "serverd.toml", it::substitute_port(proc::process_config(2, "daemon = true\n"), port));
  const auto pid_path = dir / "serverd.pid";
  DaemonCleanup cleanup;

  const auto t = Clock::now();
  const it::CommandResult r = it::run_serverd({"-c", config.string()}, 5s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
  // Whatever happened, find the master so that it is cleaned up.
  std::optional<pid_t> master;
  ps::wait_until(
      [&] {
        master = ps::pid_from_file(pid_path);
        return master && ps::process_alive(*master);
      },
      3s);
  if (master) {
    cleanup.pids.push_back(*master);
    for (pid_t p : proc::whole_tree(*master)) cleanup.pids.push_back(p);
  }
  const std::string log_path = (dir / "error.log").string();
  auto diagnostics = [&] { return r.output() + "\n--- error.log ---\n" + it::read_file(log_path); };

  BOOST_TEST_CONTEXT(diagnostics()) {
    BOOST_TEST(!r.timed_out, "serverd -c with daemon = true did not return");
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(took.count() <= 1000, "serverd took " << took.count() << " ms to return");
    BOOST_TEST_REQUIRE(master.has_value(), "no pid file naming a live master");

    // A detached master: not our child, in a session of its own, titled as the master.
    const auto info = ps::proc_info(*master);
    BOOST_TEST_REQUIRE(info.has_value());
    BOOST_TEST(info->title == ps::kMasterTitle);
    BOOST_TEST(info->ppid != ::getpid());
    BOOST_TEST(info->session != ::getsid(0));

    BOOST_TEST_REQUIRE(ps::wait_until(
        [&] { return it::contains(it::read_file(log_path), proc::ready_line(2)); }, 5s));
    const std::vector<pid_t> tree = proc::whole_tree(*master);
    for (pid_t p : tree) cleanup.pids.push_back(p);
    BOOST_TEST(tree.size() == 4U,
               "master, agent and 2 workers expected: " << proc::pids_text(tree));
    std::string why;
    BOOST_TEST(proc::fresh_request_ok(port, &why), why);

    // TERM to the pid in the pid file stops all of it.
    BOOST_TEST_REQUIRE(::kill(*master, SIGTERM) == 0);
    BOOST_TEST(proc::all_gone(tree, 2s),
               "still running 2 s after TERM: " << proc::pids_text(proc::alive_of(tree)));
    BOOST_TEST(ps::wait_until([&] { return !std::filesystem::exists(pid_path); }, 1s),
               "the pid file was left behind");
    BOOST_TEST(!it::port_accepts(port, 200ms));
  }
  if (proc::current_test_failed())
    BOOST_TEST_MESSAGE("--- at the end of the failed test ---\n" << diagnostics());
}

BOOST_AUTO_TEST_SUITE_END()
