// error_log = "syslog:...": the error log goes out as RFC 5424 datagrams to a UDP receiver on
// 127.0.0.1 or a unix datagram socket, with facility/tag/nohostname applied, survives USR1
// (reopen) without a file appearing, is left alone by log rotation, and invalid parameters are
// config errors at the value's position.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "../harness/process_runner.hpp"
#include "../harness/test_server.hpp"

namespace fs = std::filesystem;
namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

// A datagram receiver: UDP on 127.0.0.1 (ephemeral port) or a unix socket at a path.
class Receiver {
 public:
  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0);
    BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  explicit Receiver(const fs::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Receiver() { ::close(fd_); }
  int port() const { return port_; }

  // Reads datagrams (bounded) until one contains `needle`; returns it, or "" on timeout.
  std::string wait_for(std::string_view needle, std::chrono::milliseconds timeout = 5s) {
    for (const auto& m : received_)
      if (m.find(needle) != std::string::npos) return m;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      received_.emplace_back(buf, static_cast<std::size_t>(n));
      if (received_.back().find(needle) != std::string::npos) return received_.back();
    }
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<std::string> received_;
};

std::string syslog_config(const std::string& target, const std::string& extra_log = "") {
  return "[main]\npid_file = \"serverd.pid\"\nworker_processes = 1\n\n"
         "[log]\nerror_log = \"" +
         target + "\"\nlevel = \"info\"\n" + extra_log +
         "\n"
         "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\n"
         "  [[server.location]]\n  path = \"/\"\n  return = { status = 200, body = \"ok\" }\n";
}

// "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG"
const std::regex kRfc5424(
    R"(<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d) (\S+) (\S+) (\d+) - - (.*))");

}  // namespace

BOOST_AUTO_TEST_SUITE(error_log_syslog)

BOOST_AUTO_TEST_CASE(udp_messages_are_rfc5424_with_facility_and_tag) {
  Receiver rx;
  const std::string target =
      "syslog:server=127.0.0.1:" + std::to_string(rx.port()) + ",facility=daemon,tag=edge_1";
  it::TestServer server(syslog_config(target));
  const std::string line = rx.wait_for("listening on 127.0.0.1:" + std::to_string(server.port()));
  BOOST_REQUIRE_MESSAGE(!line.empty(), server.diagnostics());
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_match(line, m, kRfc5424), line);
  BOOST_TEST(m[1].str() == "30");  // daemon (3) * 8 + info (6)
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  BOOST_TEST(m[3].str() == host);
  BOOST_TEST(m[4].str() == "edge_1");
  BOOST_TEST(m[5].str() == std::to_string(server.process().pid()));
  BOOST_TEST(m[6].str() ==
             "[info] master: listening on 127.0.0.1:" + std::to_string(server.port()));
  // No file of the target's name appears anywhere.
  for (const auto& e : fs::recursive_directory_iterator(server.dir().path()))
    BOOST_TEST(e.path().filename().string().find("syslog") == std::string::npos, e.path());
  // USR1 reopens: still syslog, still no file.
  server.process().send_signal(SIGUSR1);
  const std::string reopened = rx.wait_for("received USR1: reopened log files");
  BOOST_REQUIRE(!reopened.empty());
  BOOST_TEST(reopened.starts_with("<30>1 "));
  BOOST_TEST(server.get("/").status == 200);
  BOOST_TEST(!fs::exists(server.dir() / "error.log"));
}

BOOST_AUTO_TEST_CASE(unix_socket_default_facility_and_nohostname) {
  it::TempDir sockdir;
  const fs::path path = sockdir / "log.sock";
  Receiver rx(path);
  it::TestServer server(syslog_config("syslog:server=unix:" + path.string() + ",nohostname"));
  const std::string line = rx.wait_for("started worker");
  BOOST_REQUIRE_MESSAGE(!line.empty(), server.diagnostics());
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_match(line, m, kRfc5424), line);
  BOOST_TEST(m[1].str() == "190");  // local7 (23) * 8 + info (6)
  BOOST_TEST(m[3].str() == "-");    // nohostname: NILVALUE
  BOOST_TEST(m[4].str() == "serverd");
  BOOST_TEST(m[6].str().starts_with("[info] master: started worker"), m[6].str());
  // Workers log through it too, with their role.
  const std::string worker = rx.wait_for("] worker #0: ");
  BOOST_TEST(!worker.empty());
}

BOOST_AUTO_TEST_CASE(rotation_leaves_syslog_alone) {
  Receiver rx;
  const std::string target = "syslog:server=127.0.0.1:" + std::to_string(rx.port());
  it::TestServer server(syslog_config(target, "[log.rotate]\nmax_size = \"1KiB\"\n"));
  BOOST_REQUIRE(!rx.wait_for("started agent").empty());
  const auto dump = it::run_serverd({"-T", "-c", server.config_path().string()});
  BOOST_TEST(dump.exit_code == 0, dump.err);
  BOOST_TEST(dump.out.find("error_log = \"" + target + "\"") != std::string::npos, dump.out);
  for (int i = 0; i < 20; ++i) BOOST_TEST(server.get("/").status == 200);
  server.process().send_signal(SIGUSR1);
  BOOST_REQUIRE(!rx.wait_for("reopened log files").empty());
  for (const auto& e : fs::recursive_directory_iterator(server.dir().path())) {
    const std::string name = e.path().filename().string();
    BOOST_TEST((name.find("syslog") == std::string::npos && !name.ends_with(".gz")), e.path());
  }
}

BOOST_AUTO_TEST_CASE(invalid_syslog_parameters_are_config_errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"syslog:server=127.0.0.1,facility=local9", "unknown facility"},
      {"syslog:server=127.0.0.1:0", "invalid port \"0\""},
      {"syslog:facility=local7", "syslog needs server="},
      {"syslog:server=127.0.0.1,tag=bad-tag", "a tag is 1 to 32 letters"},
      {"syslog:server=127.0.0.1,severity=loud", "unknown severity"},
      {"syslog:server=127.0.0.1,colour=blue", "unknown syslog parameter \"colour\""},
  };
  it::TempDir dir;
  for (const auto& [target, why] : cases) {
    const auto path = dir.write("s.toml", "[log]\nerror_log = \"" + target + "\"\n");
    const auto r = it::run_serverd({"-t", "-c", path.string()});
    BOOST_TEST(r.exit_code == 1, target);
    BOOST_TEST(r.err.starts_with(path.string() + ":2:13: invalid error_log \"" + target + "\": "),
               r.err);
    BOOST_TEST(r.err.find(why) != std::string::npos, r.err);
  }
  const auto path = dir.write("a.toml",
                              "[[server]]\nlisten = \"127.0.0.1:1\"\n"
                              "access_log = \"syslog:server=127.0.0.1\"\n");
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(
      r.err.find(path.string() + ":3:14: `access_log` cannot go to syslog") != std::string::npos,
      r.err);
}

BOOST_AUTO_TEST_SUITE_END()
