// The control socket `<pid_file>.ctl` goes away with the master on every clean exit (QUIT, TERM,
// INT), but a binary upgrade leaves it to the new master, which answers on it.
#include <signal.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "../harness/process_runner.hpp"
#include "../harness/reload_support.hpp"
#include "../harness/test_server.hpp"

namespace fs = std::filesystem;
namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

fs::path control_path(const it::TempDir& dir) {
  return dir / "serverd.pid.ctl";
}

void check_removed_after(int signo) {
  it::TestServer server(it::simple_config());
  const fs::path ctl = control_path(server.dir());
  BOOST_REQUIRE_MESSAGE(it::wait_until([&] { return fs::exists(ctl); }, 5s),
                        "no control socket: " << server.diagnostics());
  server.expect_clean_exit(false);  // it exits here, on our signal
  server.process().send_signal(signo);
  BOOST_REQUIRE_MESSAGE(server.process().wait_exit(10s), "no exit after signal " << signo);
  const auto status = server.process().wait_status();
  BOOST_TEST((status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0),
             "signal " << signo << ": wait status " << status.value_or(-1));
  BOOST_TEST(!fs::exists(ctl), "signal " << signo << " left " << ctl);
  BOOST_TEST(!fs::exists(server.dir() / "serverd.pid"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control_socket_cleanup)

BOOST_AUTO_TEST_CASE(quit_removes_the_control_socket) {
  check_removed_after(SIGQUIT);
}
BOOST_AUTO_TEST_CASE(term_removes_the_control_socket) {
  check_removed_after(SIGTERM);
}
BOOST_AUTO_TEST_CASE(int_removes_the_control_socket) {
  check_removed_after(SIGINT);
}

BOOST_AUTO_TEST_CASE(an_upgrade_keeps_it_for_the_new_master) {
  it::ReturnConfig c;
  c.workers = 1;
  it::UpgradableServer server(it::return_config(c));
  const fs::path ctl = control_path(server.dir());
  BOOST_REQUIRE(it::wait_until([&] { return fs::exists(ctl); }, 5s));
  const auto up = it::run_serverd({"-s", "upgrade", "-c", server.config_path().string()}, 20s);
  BOOST_REQUIRE_MESSAGE(up.exit_code == 0, up.output() << server.diagnostics());
  BOOST_REQUIRE(server.wait_original_exit(10s));
  BOOST_TEST(fs::exists(ctl), "the old master removed the new master's control socket");
  // The new master still answers on it: a reload through it succeeds.
  const auto reload = it::run_serverd({"-s", "reload", "-c", server.config_path().string()}, 20s);
  BOOST_TEST(reload.exit_code == 0, reload.output());
  const auto pid = it::read_pid(server.pid_path());
  BOOST_REQUIRE(pid.has_value());
  ::kill(*pid, SIGQUIT);
  BOOST_TEST(it::wait_until([&] { return it::process_gone(*pid); }, 10s));
  BOOST_TEST(!fs::exists(ctl), "the upgraded master left its control socket on QUIT");
}

BOOST_AUTO_TEST_SUITE_END()
