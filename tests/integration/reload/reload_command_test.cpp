// Configuration reload through `serverd -s reload` (synchronous, via the control socket) and
// HUP: invalid configs are refused with file:line:col and change nothing, a valid one serves as
// soon as the command returns, listeners and worker counts follow the new config, and requests
// in flight on the old generation complete.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../harness/checks.hpp"
#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/reload_support.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const std::string kWorkerTitle = "serverd: worker process";

it::CommandResult reload_command(const it::TestServer& server) {
  return it::run_serverd({"-s", "reload", "-c", server.config_path().string()}, 20s);
}

void write_config(const it::TestServer& server, const it::ReturnConfig& c) {
  it::write_file_atomically(server.config_path(),
                            it::substitute_port(it::return_config(c), server.port()));
}

// A config with a bad duration and an unknown key, each on a known line.
std::string invalid_config(const it::TestServer& server) {
  it::ReturnConfig c;
  c.body = "never served\n";
  c.main_extra = "shutdown_timeout = \"5 parsecs\"\nworker_procesess = 2\n";
  return it::substitute_port(it::return_config(c), server.port());
}

bool has_location(const std::string& text) {
  static const std::regex re(R"(serverd\.toml:[0-9]+:[0-9]+)");
  return std::regex_search(text, re);
}

// The new generation serves (bounded wait). Only reload_command_returns_when_the_new_config_serves
// insists on "at once"; elsewhere that race must not hide what the test is about.
bool serves(const it::TestServer& server, const std::string& body) {
  return it::wait_until([&] { return server.get("/").body == body; }, 3s);
}

std::size_t worker_count(pid_t master) {
  return it::children_titled(master, kWorkerTitle).size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reload_via_command)

BOOST_AUTO_TEST_CASE(invalid_config_is_refused_with_its_location_and_changes_nothing) {
  it::ReturnConfig good;
  good.body = "good one\n";
  it::TestServer server(it::return_config(good));
  BOOST_TEST(server.get("/").body == good.body);

  it::write_file_atomically(server.config_path(), invalid_config(server));
  const it::CommandResult r = reload_command(server);
  BOOST_TEST_CONTEXT("serverd -s reload said: " << r.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(has_location(r.output()), "no FILE:LINE:COL in the command's output");
    BOOST_TEST(it::contains(r.output(), "worker_procesess"));
    BOOST_TEST(it::contains(r.output(), "5 parsecs"));
    BOOST_TEST(server.get("/").body == good.body);
    // The master itself was asked and refused: its error log says so.
    BOOST_TEST(server.wait_for_log("reload failed", 2s),
               "the error log does not contain \"reload failed\"");
  }

  // A valid config afterwards reloads fine.
  it::ReturnConfig next;
  next.body = "good two\n";
  write_config(server, next);
  const it::CommandResult ok = reload_command(server);
  BOOST_TEST_CONTEXT(ok.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(ok.exit_code == 0);
    BOOST_TEST(it::contains(ok.out, "reload succeeded"));
    BOOST_TEST(serves(server, next.body));
  }
}

BOOST_AUTO_TEST_CASE(invalid_config_on_hup_is_logged_with_its_location) {
  it::ReturnConfig good;
  good.body = "good one\n";
  it::TestServer server(it::return_config(good));
  it::write_file_atomically(server.config_path(), invalid_config(server));
  server.process().send_signal(SIGHUP);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(server.wait_for_log("reload failed: still serving", 3s));
    const std::string log = server.error_log();
    BOOST_TEST(has_location(log), "no FILE:LINE:COL in the error log");
    BOOST_TEST(it::contains(log, "worker_procesess"));
    BOOST_TEST(server.get("/").body == good.body);
  }
  it::ReturnConfig next;
  next.body = "good two\n";
  write_config(server, next);
  server.process().send_signal(SIGHUP);
  BOOST_TEST(it::wait_until([&] { return server.get("/").body == next.body; }, 5s),
             server.diagnostics());
}

namespace {

struct Answer {
  bool timed_out = false;
  int exit_code = -1;
  std::string output;
};

// Runs `serverd -s reload` and calls `on_answer` the moment its answer line arrives (it is
// written as the command finishes), before the command is even reaped: the check that follows
// is not delayed by the exit polling of run_command().
Answer reload_then(const it::TestServer& server, const std::function<void()>& on_answer) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  it::SpawnOptions options;
  options.stdout_fd = fds[1];
  options.stderr_fd = fds[1];
  const pid_t pid = it::spawn_process(
      {SERVERD_BINARY, "-s", "reload", "-c", server.config_path().string()}, options);
  ::close(fds[1]);
  Answer a;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int i = 0; i < 100000 && a.output.find('\n') == std::string::npos; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      a.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    a.output.append(buf, static_cast<std::size_t>(n));
  }
  if (!a.timed_out) on_answer();
  ::close(fds[0]);
  auto status = it::wait_for_exit(pid, 5s);
  if (!status) {
    ::kill(-pid, SIGKILL);
    status = it::wait_for_exit(pid, 5s);
    a.timed_out = true;
  }
  if (status && WIFEXITED(*status)) a.exit_code = WEXITSTATUS(*status);
  return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reload_command_returns_when_the_new_config_serves) {
  it::ReturnConfig c;
  c.body = "round 0\n";
  it::TestServer server(it::return_config(c));
  // The race this guards against (an old worker still accepting after the command answered)
  // is narrow: many rounds, and a burst of connections opened the moment the answer arrives.
  constexpr int kRounds = 60;
  constexpr int kBurst = 8;
  int stale = 0;
  for (int i = 1; i <= kRounds; ++i) {
    c.body = "round " + std::to_string(i) + "\n";
    write_config(server, c);
    // No sleep, no retry: the command said the new generation serves, so it serves every new
    // request from then on.
    std::vector<it::HttpConnection> burst;
    const Answer r = reload_then(server, [&] {
      for (int k = 0; k < kBurst; ++k) {
        burst.push_back(server.connect());
        burst.back().send(it::get_request("/"));
      }
    });
    BOOST_TEST_CONTEXT("round " << i << ": " << r.output) {
      BOOST_REQUIRE(!r.timed_out);
      BOOST_TEST(r.exit_code == 0);
      BOOST_TEST(it::contains(r.output, "reload succeeded"));
      for (auto& conn : burst) {
        const it::Response fresh = conn.expect_response();
        BOOST_TEST(fresh.status == 200);
        if (fresh.body != c.body) {
          ++stale;
          BOOST_TEST(fresh.body == c.body, "answered by an older generation");
        }
      }
    }
  }
  BOOST_TEST(stale == 0, stale << " of " << kRounds * kBurst
                               << " requests sent after `serverd -s reload` returned were answered "
                                  "by the previous generation\n"
                               << server.diagnostics().substr(0, 3000));
}

BOOST_AUTO_TEST_CASE(listeners_and_worker_count_follow_the_config) {
  it::ReturnConfig c;
  c.body = "one port, one worker\n";
  c.workers = 1;
  it::TestServer server(it::return_config(c));
  const pid_t master = server.process().pid();
  const int p1 = server.port();
  BOOST_TEST(it::wait_until([&] { return worker_count(master) == 1; }, 3s));

  // Add a second address and go to 3 workers.
  const int p2 = it::pick_free_port();
  c.listen = {"127.0.0.1:{PORT}", "127.0.0.1:" + std::to_string(p2)};
  c.workers = 3;
  c.body = "two ports, three workers\n";
  write_config(server, c);
  it::CommandResult r = reload_command(server);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_REQUIRE(r.exit_code == 0);
    // Only the new generation listens on the new address: it answers there at once.
    BOOST_TEST(it::fetch(p2, it::get_request("/")).body == c.body);
    BOOST_TEST(serves(server, c.body));
    BOOST_TEST(it::wait_until([&] { return worker_count(master) == 3; }, 5s),
               "worker processes: " << worker_count(master));
  }

  // Drop the first address and go to 2 workers.
  c.listen = {"127.0.0.1:" + std::to_string(p2)};
  c.workers = 2;
  c.body = "second port only, two workers\n";
  write_config(server, c);
  r = reload_command(server);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_REQUIRE(r.exit_code == 0);
    BOOST_TEST(
        it::wait_until([&] { return it::fetch(p2, it::get_request("/")).body == c.body; }, 3s));
    BOOST_TEST(server.wait_for_log("generation 2 has drained", 5s));
    BOOST_TEST(it::wait_until([&] { return !it::port_accepts(p1, 200ms); }, 5s),
               "127.0.0.1:" << p1 << " is still accepting connections");
    BOOST_TEST(it::wait_until([&] { return worker_count(master) == 2; }, 5s),
               "worker processes: " << worker_count(master));
    BOOST_TEST(it::fetch(p2, it::get_request("/")).body == c.body);
  }
}

BOOST_AUTO_TEST_CASE(slow_request_body_in_flight_completes_on_the_old_generation) {
  it::ReturnConfig c;
  c.body = "old generation\n";
  c.workers = 1;
  it::TestServer server(it::return_config(c));
  it::HttpConnection conn = server.connect();
  // A first exchange proves the old generation owns this connection.
  conn.send(it::get_request("/"));
  BOOST_TEST(conn.expect_response().body == c.body);
  conn.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234");
  std::this_thread::sleep_for(100ms);

  c.body = "new generation\n";
  write_config(server, c);
  const it::CommandResult r = reload_command(server);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_REQUIRE(r.exit_code == 0);
    BOOST_TEST(serves(server, c.body));
    // Longer than the 1 s grace a draining worker gives idle connections: this one is not idle.
    std::this_thread::sleep_for(1500ms);
    BOOST_REQUIRE(conn.try_send("56789"));
    const it::ReadResult rr = conn.read_response();
    BOOST_REQUIRE_MESSAGE(
        rr.status == it::ReadStatus::ok,
        "the in-flight request failed: " << it::to_string(rr.status) << ": " << rr.error);
    it::check_fixed_body(rr.response, "old generation\n");
    BOOST_TEST(rr.response.header("Connection").value_or("") == "close");
    BOOST_TEST(it::to_string(conn.wait_for_close(3s).kind) == std::string("fin"));
    // The worker lingers until the client closes too; then the old generation is gone.
    { it::HttpConnection done = std::move(conn); }
    BOOST_TEST(server.wait_for_log("generation 1 has drained", 3s));
  }
}

BOOST_AUTO_TEST_CASE(draining_generations_beyond_the_limit_are_stopped_oldest_first) {
  it::ReturnConfig c;
  c.body = "generation 1\n";
  c.workers = 1;
  c.main_extra = "max_draining_generations = 1\n";
  it::TestServer server(it::return_config(c));
  // One unfinished request body per generation keeps that generation draining.
  std::vector<it::HttpConnection> pinned;
  for (int gen = 1; gen <= 2; ++gen) {
    pinned.push_back(server.connect());
    pinned.back().send(it::get_request("/"));
    BOOST_TEST(pinned.back().expect_response().body == c.body);
    pinned.back().send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n0");
    std::this_thread::sleep_for(100ms);
    c.body = "generation " + std::to_string(gen + 1) + "\n";
    write_config(server, c);
    const it::CommandResult r = reload_command(server);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.output() << server.diagnostics());
  }
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(serves(server, c.body));
    // Generations 1 and 2 would both drain: the limit of one stops generation 1 at once.
    BOOST_TEST(server.wait_for_log("more than 1 generations draining: stopping generation 1", 3s));
    // Its worker is gone, and with it the connection it still held.
    BOOST_TEST(it::to_string(pinned[0].wait_for_close(5s).kind) != std::string("timeout"));
    BOOST_TEST(!it::contains(server.error_log(), "stopping generation 2"));
    // Generation 2's in-flight request is still served to the end, by generation 2.
    BOOST_REQUIRE(pinned[1].try_send("123456789"));
    const it::ReadResult rr = pinned[1].read_response();
    BOOST_REQUIRE_MESSAGE(rr.status == it::ReadStatus::ok,
                          "generation 2's request failed: " << it::to_string(rr.status));
    it::check_fixed_body(rr.response, "generation 2\n");
  }
}

BOOST_AUTO_TEST_CASE(large_file_read_slowly_across_a_reload_completes) {
  constexpr std::size_t kSize = 16 * 1024 * 1024;
  const std::string content = it::pseudo_random_bytes(kSize, 7);
  it::ReturnConfig c;
  c.body = "old generation\n";
  c.workers = 1;
  c.locations = "  [[server.location]]\n  path = \"/files/\"\n  root = \"html\"\n";
  it::TestServer server(it::return_config(c),
                        [&](const it::TempDir& d) { d.write("html/files/big.bin", content); });
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/files/big.bin"));
  // Read the head and a little of the body, leaving most of it in the server's hands.
  std::string received;
  {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    char buf[16384];
    while (received.size() < 256 * 1024 && std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(conn.fd(), buf, sizeof buf, 0);
      if (n > 0)
        received.append(buf, static_cast<std::size_t>(n));
      else if (n == 0)
        break;
      else
        std::this_thread::sleep_for(1ms);
    }
  }
  const auto head_end = received.find("\r\n\r\n");
  BOOST_REQUIRE(head_end != std::string::npos);
  BOOST_TEST(it::contains(received.substr(0, head_end), "200 OK"));

  c.body = "new generation\n";
  write_config(server, c);
  const it::CommandResult r = reload_command(server);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_REQUIRE(r.exit_code == 0);
    BOOST_TEST(serves(server, c.body));
    std::this_thread::sleep_for(1500ms);
    // Now read the rest, then the server must close (FIN: the old generation is draining).
    const it::CloseResult rest = conn.wait_for_close(10s);
    received += rest.data;
    BOOST_TEST(it::to_string(rest.kind) == std::string("fin"));
    BOOST_TEST(received.size() == head_end + 4 + kSize);
    BOOST_TEST((received.compare(head_end + 4, std::string::npos, content) == 0),
               "the file arrived corrupted");
    { it::HttpConnection done = std::move(conn); }
    BOOST_TEST(server.wait_for_log("generation 1 has drained", 3s));
  }
}

BOOST_AUTO_TEST_SUITE_END()
