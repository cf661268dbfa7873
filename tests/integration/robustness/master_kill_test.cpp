// kill -9 of the master: the children notice at once (their channel to the master ends), stop
// accepting, finish what they accepted and exit, so nothing is orphaned and a supervisor can
// start serverd again on the same port (the stale pid file is taken over).
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "../harness/backend.hpp"
#include "../harness/http_client.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/proxy_support.hpp"
#include "../harness/server_process.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(master_kill)

BOOST_AUTO_TEST_CASE(children_finish_in_flight_requests_and_exit_and_the_port_can_be_reused) {
  it::TestBackend backend;
  it::TestServer server(
      px::config(px::upstream("app", {backend.address()}), px::location("/", "http://app"), "", 2));
  server.expect_clean_exit(false);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const pid_t master = server.process().pid();
  const ps::ServerTree tree = ps::server_tree(master);
  BOOST_TEST_REQUIRE(tree.workers.size() == 2U, tree.describe());
  BOOST_TEST_REQUIRE(tree.agents.size() == 1U, tree.describe());

  // A request in flight on a worker when the master dies.
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/slow?sleep=1500"));
  BOOST_TEST_REQUIRE(backend.wait_for_requests(1, 3s));
  BOOST_TEST_REQUIRE(::kill(master, SIGKILL) == 0);

  it::ReadOptions patient;
  patient.timeout = 5s;
  const it::ReadResult r = conn.read_response(patient);
  BOOST_TEST((r.status == it::ReadStatus::ok), r.error);
  if (r.status == it::ReadStatus::ok) {
    BOOST_TEST(r.response.status == 200);
    BOOST_TEST(r.response.header("Connection").value_or("") == "close");
  }

  std::vector<pid_t> children = tree.workers;
  children.insert(children.end(), tree.agents.begin(), tree.agents.end());
  const bool gone = ps::wait_until(
      [&] {
        for (pid_t p : children)
          if (ps::process_alive(p)) return false;
        return true;
      },
      10s, 50ms);
  BOOST_TEST(gone, "children still alive after the master was killed");
  BOOST_TEST(server.wait_for_log("the master process is gone", 2s), server.diagnostics());

  // A supervisor starts serverd again with the same config and port.
  it::ServerProcess again({"-c", server.config_path().string()}, server.dir() / "again");
  BOOST_TEST_REQUIRE(again.wait_for_port(server.port(), 5s), again.stderr_text());
  const it::Response after = server.get("/after");
  BOOST_TEST(after.status == 200);
  const auto stopped = again.stop();
  BOOST_TEST(stopped.exited);
  BOOST_TEST(!stopped.group_leftovers);
}

BOOST_AUTO_TEST_SUITE_END()
