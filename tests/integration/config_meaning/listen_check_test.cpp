// `serverd -t` binds the listen addresses as nginx's -t does: one held by another process fails
// the check at the listen entry's position; one held by the running master of this config
// (checking a live server's config before a reload) passes.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;

namespace {

// A listening socket on 127.0.0.1:port held by the test process itself (a "foreign" process).
struct Holder {
  int fd = -1;
  int port = 0;
  Holder() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
    BOOST_REQUIRE(::listen(fd, 4) == 0);
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~Holder() { ::close(fd); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(config_meaning_listen_check)

BOOST_AUTO_TEST_CASE(an_address_held_by_another_process_fails_the_check) {
  Holder holder;
  it::TempDir dir;
  const int free_port = it::pick_free_port();
  const std::string config = it::config_prelude() +
                             "[[server]]\n"
                             "listen = [\"127.0.0.1:" +
                             std::to_string(free_port) +
                             "\", \"127.0.0.1:" + std::to_string(holder.port) + "\"]\n";
  const auto path = dir.write("s.toml", config);
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST(r.exit_code == 1, r.output());
  // Where the second entry stands: its line and the column of its opening quote.
  const std::string held = "\"127.0.0.1:" + std::to_string(holder.port) + "\"";
  const auto at = config.find(held);
  const auto line_start = config.rfind('\n', at) + 1;
  const auto line = 1 + std::count(config.begin(), config.begin() + static_cast<long>(at), '\n');
  const std::string expected =
      path.string() + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
      ": listen address 127.0.0.1:" + std::to_string(holder.port) + " is already in use\n";
  BOOST_TEST(r.err.starts_with(expected), r.err);
  BOOST_TEST(r.err.find(std::to_string(free_port) + " is already") == std::string::npos);
  BOOST_TEST(r.err.find("test failed") != std::string::npos);
  // -T checks the same way and prints nothing on failure.
  const auto dump = it::run_serverd({"-T", "-c", path.string()});
  BOOST_TEST(dump.exit_code == 1);
  BOOST_TEST(dump.out.empty());
}

BOOST_AUTO_TEST_CASE(the_running_master_of_the_config_does_not_fail_it) {
  it::TestServer server(it::simple_config());
  const auto r = it::run_serverd({"-t", "-c", server.config_path().string()});
  BOOST_TEST(r.exit_code == 0, r.output());
  BOOST_TEST(r.err.find("test is successful") != std::string::npos, r.err);
  // Without the pid file naming it, the same server is just "another process".
  std::filesystem::rename(server.dir() / "serverd.pid", server.dir() / "moved.pid");
  const auto foreign = it::run_serverd({"-t", "-c", server.config_path().string()});
  std::filesystem::rename(server.dir() / "moved.pid", server.dir() / "serverd.pid");
  BOOST_TEST(foreign.exit_code == 1, foreign.output());
  BOOST_TEST(foreign.err.find("listen address 127.0.0.1:" + std::to_string(server.port()) +
                              " is already in use") != std::string::npos,
             foreign.err);
}

BOOST_AUTO_TEST_CASE(the_running_master_on_an_overlapping_address_does_not_fail_it) {
  // The package check's case: the master runs a copy of the config on 127.0.0.1:P, and the
  // installed config (the same pid file) says *:P. Only the running master holds the port.
  it::TestServer server(it::simple_config());
  std::string config = it::read_file(server.config_path());
  const std::string specific = "127.0.0.1:" + std::to_string(server.port());
  const auto at = config.find(specific);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  config.replace(at, specific.size(), "*:" + std::to_string(server.port()));
  const auto wildcard = server.dir() / "wildcard.toml";
  {
    std::ofstream out(wildcard);
    out << config;
  }
  const auto r = it::run_serverd({"-t", "-c", wildcard.string()});
  BOOST_TEST(r.exit_code == 0, r.output());
  const auto dump = it::run_serverd({"-T", "-c", wildcard.string()});
  BOOST_TEST(dump.exit_code == 0, dump.output());
  BOOST_TEST(dump.out.find("pid_file = ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
