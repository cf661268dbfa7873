// A worker out of descriptors (worker_rlimit_nofile reached) or at worker_connections: it
// pauses accepting instead of spinning on a listener that stays readable or dying, logs that
// once (not ten times a second), goes on serving the connections it has, answers a request it
// cannot open a file or an upstream socket for with 500 / 502 without blaming the upstream, and
// accepts again as soon as a connection closes.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../harness/backend.hpp"
#include "../harness/http_client.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/proxy_support.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWorkerNofile = 64;
// More than the worker can hold (it starts with about 8 descriptors of its own); the rest wait
// in the listen queue.
constexpr int kIdleConnections = 80;
constexpr std::string_view kFdPauseLine = "Too many open files; pausing accept";
constexpr std::string_view kConnPauseLine = "worker_connections are not enough; pausing accept";
constexpr std::string_view kAcceptingAgain = "accepting again on 127.0.0.1:";

// One worker; /ping needs no descriptor (return), / opens a file, /app/ an upstream socket.
std::string config(std::string_view main_lines, std::string_view upstreams) {
  std::string c = "[main]\npid_file = \"serverd.pid\"\nworker_processes = 1\n";
  c += main_lines;
  c += "\n[log]\nerror_log = \"error.log\"\nlevel = \"info\"\n\n";
  c += upstreams;
  c += "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n\n";
  c += "  [[server.location]]\n  path = \"/ping\"\n  match = \"exact\"\n"
       "  return = { status = 200, body = \"pong\\n\" }\n\n";
  c += px::location("/app/", "http://app");
  c += "  [[server.location]]\n  path = \"/\"\n  root = \"html\"\n";
  return c;
}

void populate(const it::TempDir& dir) {
  dir.write("html/index.html", "static\n");
}

// utime + stime of a process (all its threads), in seconds; -1 when unreadable.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 15 && (fields >> field); ++i)  // field 3 is the state
    if (i == 14 || i == 15) ticks += std::stoull(field);
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t open_fds(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator d("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && d != end && n < 100000; d.increment(ec))
    ++n;
  return n;
}

// The test process itself needs a descriptor per idle connection.
void ensure_nofile(rlim_t wanted) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= wanted) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > wanted ? wanted : rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

it::Response request_on(it::HttpConnection& conn, std::string_view target) {
  conn.send(it::get_request(target));
  return conn.expect_response();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fd_exhaustion)

BOOST_AUTO_TEST_CASE(out_of_descriptors_the_worker_pauses_without_spinning_and_recovers) {
  ensure_nofile(4 * kIdleConnections);
  // Two servers, so that blaming them for the worker's shortage would mark both down.
  it::TestBackend backend;
  it::TestBackend second;
  it::TestServer server(config("worker_rlimit_nofile = " + std::to_string(kWorkerNofile) + "\n",
                               px::upstream("app", {backend.address(), second.address()})),
                        populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const std::vector<pid_t> workers = px::worker_pids(server.process());
  BOOST_TEST_REQUIRE(workers.size() == 1U);
  const pid_t worker = workers.front();

  // Connections established before the shortage, each tried once.
  it::HttpConnection ping = server.connect();
  it::HttpConnection file = server.connect();
  it::HttpConnection app = server.connect();
  BOOST_TEST_REQUIRE(request_on(ping, "/ping").status == 200);
  BOOST_TEST_REQUIRE(request_on(file, "/index.html").status == 200);
  BOOST_TEST_REQUIRE(request_on(app, "/app/before").status == 200);

  std::vector<it::HttpConnection> idle;
  for (int i = 0; i < kIdleConnections; ++i) idle.push_back(server.connect());
  BOOST_TEST_REQUIRE(server.wait_for_log(kFdPauseLine, 3s), server.diagnostics());
  BOOST_TEST(open_fds(worker) == static_cast<std::size_t>(kWorkerNofile));
  it::HttpConnection queued = server.connect();  // the kernel completes it; the worker cannot
  queued.send(it::get_request("/ping"));

  // Two seconds of exhaustion while a client keeps trying to connect.
  const double cpu_before = cpu_seconds(worker);
  const auto start = Clock::now();
  int attempts = 0;
  for (; attempts < 100000 && Clock::now() - start < 2s; ++attempts)
    ps::try_connect(server.port(), 20ms);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds(worker) - cpu_before;
  BOOST_TEST_MESSAGE("worker CPU during " << wall << " s of exhaustion: " << cpu << " s ("
                                          << 100 * cpu / wall << " %), " << attempts
                                          << " connection attempts");
  BOOST_TEST(cpu_before >= 0);
  BOOST_TEST(cpu < 0.3 * wall, "the worker spins: " << cpu << " s CPU in " << wall << " s");

  // Established connections are served; what needs a descriptor fails cleanly.
  BOOST_TEST(request_on(ping, "/ping").status == 200);
  BOOST_TEST(request_on(file, "/index.html").status == 500);
  BOOST_TEST(request_on(app, "/app/during").status == 502);
  BOOST_TEST(server.wait_for_log("failed: Too many open files (request \"GET /index.html\")", 2s));
  BOOST_TEST(server.wait_for_log("socket() failed: Too many open files; answering 502", 2s));
  BOOST_TEST(backend.requests() + second.requests() == 1U);
  // A log rotation now cannot open the new file: the worker keeps the old one, and lives.
  const it::CommandResult reopen =
      it::run_serverd({"-c", server.config_path().string(), "-s", "reopen"}, 5s);
  BOOST_TEST(reopen.exit_code == 0, reopen.output());
  BOOST_TEST(
      server.wait_for_log("Too many open files; still logging to the file opened before", 3s),
      server.error_log());

  const std::size_t pause_lines = px::log_lines_with(server, {kFdPauseLine});
  BOOST_TEST_MESSAGE("pause lines logged: " << pause_lines);
  BOOST_TEST(pause_lines >= 1U);
  BOOST_TEST(pause_lines <= 2U, server.error_log());
  BOOST_TEST(px::log_lines_with(server, {"#worker", "accept"}) <= 2U, server.error_log());
  BOOST_TEST(px::log_lines_with(server, {"fatal error"}) == 0U, server.error_log());

  // Descriptors free up: the connection waiting in the listen queue is served at once, new
  // ones are too, and the upstream was not blamed. (A client whose SYN was dropped while the
  // queue was full retries it on its own schedule, a second later.)
  idle.clear();
  const auto freed = Clock::now();
  it::ReadOptions patient;
  patient.timeout = 3s;
  const it::ReadResult queued_result = queued.read_response(patient);
  const auto recovery = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - freed);
  BOOST_TEST_MESSAGE("the queued connection was served " << recovery.count()
                                                         << " ms after the descriptors freed up");
  BOOST_TEST((queued_result.status == it::ReadStatus::ok), queued_result.error);
  BOOST_TEST(queued_result.response.status == 200);
  BOOST_TEST(recovery < 1000ms);
  BOOST_TEST(server.get("/ping").status == 200);
  BOOST_TEST(server.wait_for_log(kAcceptingAgain, 2s), server.error_log());
  BOOST_TEST(px::log_lines_with(server, {std::string(kAcceptingAgain)}) == 1U);
  BOOST_TEST(server.get("/index.html").status == 200);
  BOOST_TEST(server.get("/app/after").status == 200);
  BOOST_TEST(px::log_lines_with(server, {"is marked down"}) == 0U, server.error_log());

  BOOST_TEST(ps::process_alive(worker));
  BOOST_TEST((px::worker_pids(server.process()) == std::vector<pid_t>{worker}));
  const std::string pid_text = "(pid " + std::to_string(worker) + ") ";
  BOOST_TEST(px::log_lines_with(server, {pid_text}) == 0U, server.error_log());
}

BOOST_AUTO_TEST_CASE(at_worker_connections_established_connections_are_served_and_accept_resumes) {
  it::TestBackend backend;
  it::TestServer server(
      config("worker_connections = 4\n", px::upstream("app", {backend.address()})), populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const std::vector<pid_t> workers = px::worker_pids(server.process());
  BOOST_TEST_REQUIRE(workers.size() == 1U);
  const pid_t worker = workers.front();

  it::HttpConnection ping = server.connect();
  BOOST_TEST_REQUIRE(request_on(ping, "/ping").status == 200);
  std::vector<it::HttpConnection> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(server.connect());
  it::HttpConnection fifth = server.connect();  // the kernel completes it; the worker waits
  fifth.send(it::get_request("/ping"));
  BOOST_TEST_REQUIRE(server.wait_for_log(kConnPauseLine, 3s), server.diagnostics());
  BOOST_TEST(fifth.quiet_for(300ms), "a connection beyond worker_connections was served");

  // The established connection is served while accepting is paused.
  // (Fewer than keepalive_requests, after which the server would close it.)
  for (int i = 0; i < 100; ++i) BOOST_TEST_REQUIRE(request_on(ping, "/ping").status == 200);
  BOOST_TEST(fifth.quiet_for(200ms));

  // A second at the limit: the paused listener, readable all along, costs nothing.
  const double cpu_before = cpu_seconds(worker);
  const auto idle_start = Clock::now();
  BOOST_TEST(fifth.quiet_for(1000ms));
  const double wall = std::chrono::duration<double>(Clock::now() - idle_start).count();
  const double cpu = cpu_seconds(worker) - cpu_before;
  BOOST_TEST_MESSAGE("worker CPU at the limit: " << cpu << " s in " << wall << " s");
  BOOST_TEST(cpu_before >= 0);
  BOOST_TEST(cpu < 0.3 * wall);
  BOOST_TEST(px::log_lines_with(server, {kConnPauseLine}) == 1U, server.error_log());

  // A connection closes: the waiting one is accepted and served at once, not at the next retry.
  idle.pop_back();
  it::ReadOptions patient;
  patient.timeout = 2s;
  const auto freed = Clock::now();
  const it::ReadResult r = fifth.read_response(patient);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - freed);
  BOOST_TEST((r.status == it::ReadStatus::ok), r.error);
  BOOST_TEST(r.response.status == 200);
  BOOST_TEST_MESSAGE("the waiting connection was served " << took.count()
                                                          << " ms after a slot freed");
  BOOST_TEST(took < 1000ms);
  BOOST_TEST(server.wait_for_log(kAcceptingAgain, 2s), server.error_log());
  BOOST_TEST((px::worker_pids(server.process()) == std::vector<pid_t>{worker}));
}

BOOST_AUTO_TEST_SUITE_END()
