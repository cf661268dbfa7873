// QUIT or TERM while serverd is still starting (the agent not yet READY): the READY that
// crosses the signal must not start workers nobody tells to quit; before the fix one start in
// about eight waited for shutdown_timeout (30 s) here.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "../harness/ports.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/server_process.hpp"
#include "../harness/temp_dir.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(startup_signals)

BOOST_AUTO_TEST_CASE(quit_or_term_during_start_up_exits_at_once) {
  it::TempDir dir;
  for (int run = 0; run < 16; ++run) {
    const int signo = run % 4 == 3 ? SIGTERM : SIGQUIT;
    BOOST_TEST_CONTEXT("run " << run << ", signal " << signo) {
      const std::string config = it::substitute_port(it::simple_config(), it::pick_free_port());
      const auto path = dir.write("serverd.toml", config);
      dir.write("html/index.html", "x\n");
      it::ServerProcess server({"-c", path.string()}, dir / ("out" + std::to_string(run)));
      // As early as a supervisor could: the control socket appears before the agent is ready.
      const bool started =
          ps::wait_until([&] { return std::filesystem::exists(dir / "serverd.pid.ctl"); }, 5s, 1ms);
      BOOST_TEST_REQUIRE(started, server.stderr_text());
      server.send_signal(signo);
      BOOST_TEST(server.wait_exit(5s), "no exit within 5 s:\n" << it::read_file(dir / "error.log"));
      const auto stopped = server.stop();
      BOOST_TEST(!stopped.group_leftovers);
      std::filesystem::remove(dir / "error.log");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
