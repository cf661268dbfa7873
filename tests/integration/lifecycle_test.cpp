// Start-up and shutdown: the error log's "listening on" lines, the pid file, TERM.
#include <signal.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

#include "harness/checks.hpp"
#include "harness/ports.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(error_log_names_each_listener) {
  it::TestServer server(it::simple_config(),
                        [](const it::TempDir& d) { d.write("html/index.html", "index\n"); });
  const std::string needle = "listening on 127.0.0.1:" + std::to_string(server.port());
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(std::filesystem::exists(server.dir() / "error.log"));
    BOOST_TEST(server.wait_for_log(needle));
    // Paths resolve against the config's directory, not the working directory.
    BOOST_TEST(std::filesystem::is_empty(server.dir() / "cwd"));
  }
}

BOOST_AUTO_TEST_CASE(pid_file_holds_the_master_pid) {
  it::TestServer server(it::simple_config(),
                        [](const it::TempDir& d) { d.write("html/index.html", "index\n"); });
  const auto pid_path = server.dir() / "serverd.pid";
  std::string text;
  for (int i = 0; i < 100 && text.empty(); ++i) {  // <= 2 s
    text = it::read_file(pid_path);
    if (text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  BOOST_TEST(text == std::to_string(server.process().pid()));
}

BOOST_AUTO_TEST_CASE(term_stops_everything_with_exit_code_0) {
  it::TestServer server(it::simple_config(),
                        [](const it::TempDir& d) { d.write("html/index.html", "index\n"); });
  BOOST_TEST(server.get("/index.html").status == 200);  // workers are up
  server.expect_clean_exit(false);                      // checked here instead
  const it::StopResult r = server.process().stop(std::chrono::seconds(2));
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(r.exited);
    BOOST_TEST(!r.killed, "TERM did not stop the master within 2 s");
    BOOST_TEST(r.term_signal == 0);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(!r.group_leftovers, "worker/agent processes outlived the master");
  }
  BOOST_TEST(!it::port_accepts(server.port(), std::chrono::milliseconds(200)));
}

BOOST_AUTO_TEST_SUITE_END()
