// Chaos under load: proxied GET load while a worker is killed with SIGKILL again and again,
// while the agent is killed, and while an upstream server dies and comes back. Only requests
// in flight on the killed process may fail; the master brings workers and agent back, and the
// proxy moves idempotent requests to the upstream that is still there.
// (A single worker kill is process_model_crash; the master's is master_kill.)
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../harness/backend.hpp"
#include "../harness/background_load.hpp"
#include "../harness/checks.hpp"
#include "../harness/http_client.hpp"
#include "../harness/load_driver.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/proxy_support.hpp"
#include "../harness/test_server.hpp"
#include "../process/process_fixture.hpp"

namespace it = serverd::itest;
namespace ps = serverd::itest::ps;
namespace px = serverd::itest::proxy;
namespace proc = serverd::itest::proc;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The backend's deterministic payload, so that every response can be checked byte for byte.
constexpr std::size_t kPayload = 64;
const std::string kTarget = "/chaos?bytes=64";

long long ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// One socket a keep-alive client opened: which worker accepted it, and whether it failed.
struct OpenedConnection {
  int client = 0;
  pid_t owner = 0;  // 0: not found (its worker died before the lookup)
  Clock::time_point opened;
  Clock::time_point owner_known;
  bool failed = false;
  bool closed = false;  // left cleanly ("Connection: close", or the end of the load)
  Clock::time_point failed_at;
  std::string error;
};

// N client threads, each on one keep-alive connection doing GET kTarget back to back; when a
// request fails the thread notes it against the connection and opens a new one. Every opened
// connection is looked up (after its first response) to find the worker that owns it. No
// Boost.Test calls from the threads: the results are read after stop().
class KeepAliveClients {
 public:
  KeepAliveClients(int port, int clients, pid_t master, std::chrono::milliseconds bound)
      : port_(port), master_(master), deadline_(Clock::now() + bound) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, i] { run(i); });
  }
  ~KeepAliveClients() { stop(); }
  KeepAliveClients(const KeepAliveClients&) = delete;
  KeepAliveClients& operator=(const KeepAliveClients&) = delete;

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int successes() const { return successes_.load(); }
  int requests() const { return requests_.load(); }
  std::vector<OpenedConnection> connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return opened_;
  }
  // How many live (not failed) connections each worker owns right now.
  std::map<pid_t, int> live_owners() const {
    std::map<pid_t, int> out;
    for (const auto& c : connections())
      if (!c.failed && !c.closed && c.owner != 0) ++out[c.owner];
    return out;
  }

 private:
  bool running() const { return !stop_ && Clock::now() < deadline_; }

  // A 200 with the payload on `conn`; false with the reason otherwise. `closing`: the response
  // said "Connection: close" (keepalive_requests), so the next request needs a new connection.
  static bool exchange(it::HttpConnection& conn, std::string* why, bool* closing) {
    if (!conn.try_send(it::get_request(kTarget))) {
      *why = "send failed";
      return false;
    }
    it::ReadOptions ro;
    ro.timeout = 3s;
    const it::ReadResult r = conn.read_response(ro);
    if (r.status != it::ReadStatus::ok) {
      *why = std::string(it::to_string(r.status)) + ": " + r.error;
      return false;
    }
    if (r.response.status != 200 || r.response.body != it::payload(0, kPayload)) {
      *why = "unexpected response: " + it::printable(r.response.raw_head + r.response.body);
      return false;
    }
    *closing = r.response.header("Connection").value_or("") == "close";
    return true;
  }

  void run(int client) {
    for (int round = 0; round < 100000 && running(); ++round) {
      std::size_t index = 0;
      std::optional<it::HttpConnection> conn;
      {
        OpenedConnection oc;
        oc.client = client;
        oc.opened = Clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        index = opened_.size();
        opened_.push_back(oc);
      }
      std::string why;
      bool ok = false;
      bool closing = false;
      try {
        conn.emplace(it::HttpConnection::connect(port_, 2s));
        ++requests_;
        ok = exchange(*conn, &why, &closing);
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (conn) {
        const pid_t owner = ps::connection_owner(port_, conn->fd(), workers());
        std::lock_guard<std::mutex> lock(mutex_);
        opened_[index].owner = owner;
        opened_[index].owner_known = Clock::now();
      }
      // The same connection until a request on it fails or the server closes it cleanly.
      for (int n = 0; ok && n < 1000000; ++n) {
        successes_ += 1;
        if (closing || !running()) break;
        ++requests_;
        ok = exchange(*conn, &why, &closing);
      }
      if (ok) {
        std::lock_guard<std::mutex> lock(mutex_);
        opened_[index].closed = true;
      } else {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& oc = opened_[index];
        if (oc.owner_known == Clock::time_point{}) oc.owner_known = Clock::now();
        oc.failed = true;
        oc.failed_at = Clock::now();
        oc.error = why;
      }
      if (!ok) std::this_thread::sleep_for(5ms);  // do not spin against a refusing server
    }
  }

  std::vector<pid_t> workers() const { return ps::server_tree(master_).workers; }

  const int port_;
  const pid_t master_;
  const Clock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<int> successes_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::vector<OpenedConnection> opened_;
  std::vector<std::thread> threads_;
};

// A backend on a port below the kernel's ephemeral range: no outgoing connection is given
// that port as its local one while the backend is down, so the restart can always bind it
// again. (Ports from the ephemeral range could be, and bind() would then fail.)
std::unique_ptr<it::TestBackend> backend_outside_ephemeral_range(const std::string& name) {
  int low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> low;
  if (low <= 2048) return std::make_unique<it::TestBackend>(it::BackendOptions{name});
  const int first = std::max(1024, low - 8000);
  const int span = low - first;
  const int start = static_cast<int>(::getpid()) % span;
  for (int i = 0; i < 200; ++i) {
    it::BackendOptions o;
    o.name = name;
    o.port = first + (start + i * 37) % span;
    try {
      return std::make_unique<it::TestBackend>(o);
    } catch (const std::exception&) {
      // in use: the next one
    }
  }
  return std::make_unique<it::TestBackend>(it::BackendOptions{name});
}

std::string proxy_config(const it::TestBackend& backend, int workers) {
  return px::config(px::upstream("app", {backend.address()}), px::location("/", "http://app"), "",
                    workers);
}

// Waits (bounded) until slot `slot` has a worker other than `old`: a child of the master with a
// worker's title that announced itself ready. 0 when none came.
pid_t wait_for_replacement(const it::TestServer& server, pid_t master, int slot, pid_t old,
                           std::chrono::milliseconds timeout) {
  pid_t found = 0;
  ps::wait_until(
      [&] {
        const auto now = ps::worker_pids_by_slot(server.error_log());
        const auto s = now.find(slot);
        if (s == now.end() || s->second == old) return false;
        const auto info = ps::proc_info(s->second);
        if (!info || info->title != ps::kWorkerTitle || info->ppid != master) return false;
        if (!it::contains(server.error_log(), "worker #" + std::to_string(slot) + " (pid " +
                                                  std::to_string(s->second) + ") is ready"))
          return false;
        found = s->second;
        return true;
      },
      timeout, 5ms);
  return found;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chaos)

BOOST_AUTO_TEST_CASE(a_worker_killed_five_times_under_proxy_load) {
  it::TestBackend backend;
  it::TestServer server(proxy_config(backend, 2));
  const proc::DumpOnFailure dump(server);
  proc::require_ready(server, 2);
  const pid_t master = server.process().pid();
  const int port = server.port();
  BOOST_TEST_REQUIRE(ps::worker_pids_by_slot(server.error_log()).size() == 2U,
                     server.diagnostics());

  constexpr int kClients = 12;
  constexpr int kKills = 5;
  KeepAliveClients clients(port, kClients, master, 25s);
  ps::LoadOptions lo;
  lo.port = port;
  lo.request = it::get_request(kTarget);
  lo.expected_body = it::payload(0, kPayload);
  lo.candidates = [master] { return ps::server_tree(master).workers; };
  lo.max_requests = 2000;
  lo.max_duration = 25s;
  lo.pause = 5ms;
  lo.timeout = 3s;
  ps::BackgroundLoad fresh(lo);
  BOOST_TEST_REQUIRE(ps::wait_until([&] { return clients.successes() >= 100; }, 10s),
                     "the keep-alive load does not get going\n"
                         << server.diagnostics());
  BOOST_TEST_REQUIRE(ps::wait_until([&] { return fresh.completed() >= 10; }, 10s),
                     "the fresh-connection load does not get going");

  struct Kill {
    int slot;
    pid_t victim;
    int owned;  // live keep-alive connections it owned just before the kill
    Clock::time_point at;
    pid_t replacement = 0;
    long long replaced_ms = 0;
  };
  std::vector<Kill> kills;
  const int fresh_before_kills = fresh.completed();
  for (int k = 0; k < kKills; ++k) {
    // The worker that owns the most keep-alive connections now (with a shared listener and
    // EPOLLEXCLUSIVE most land on one worker, and the reconnects after a kill on the other).
    const auto slots = ps::worker_pids_by_slot(server.error_log());
    const auto owners = clients.live_owners();
    int slot = 0;
    int best = -1;
    for (const auto& [s, pid] : slots) {
      const auto o = owners.find(pid);
      const int n = o == owners.end() ? 0 : o->second;
      if (n > best) {
        best = n;
        slot = s;
      }
    }
    const pid_t victim = slots.at(slot);
    const int before = clients.successes();
    Kill kill{slot, victim, best, Clock::now()};
    BOOST_TEST_REQUIRE(::kill(victim, SIGKILL) == 0);
    // Five deaths in a row are a crash loop: the respawn backs off up to 800 ms.
    kill.replacement = wait_for_replacement(server, master, slot, victim, 4s);
    kill.replaced_ms = ms_between(kill.at, Clock::now());
    kills.push_back(kill);
    BOOST_TEST_REQUIRE(kill.replacement != 0, "no new worker #" << slot << " after kill " << k + 1
                                                                << "\n"
                                                                << server.diagnostics());
    // The load goes on between kills.
    BOOST_TEST_REQUIRE(ps::wait_until([&] { return clients.successes() >= before + 50; }, 5s),
                       "the load stalled after kill " << k + 1);
  }
  // New connections keep coming through the kills and after the last one.
  BOOST_TEST(ps::wait_until([&] { return fresh.completed() >= fresh_before_kills + 20; }, 10s),
             "too few fresh-connection requests during and after the kills");
  std::this_thread::sleep_for(300ms);
  clients.stop();
  const std::vector<ps::LoadSample> samples = fresh.stop();
  const std::vector<OpenedConnection> opened = clients.connections();

  BOOST_TEST_CONTEXT(server.diagnostics()) {
    const std::string log = server.error_log();
    std::set<pid_t> victims;
    for (const Kill& k : kills) {
      victims.insert(k.victim);
      BOOST_TEST_MESSAGE("kill: worker #" << k.slot << " (pid " << k.victim << ", " << k.owned
                                          << " keep-alive connections) -> pid " << k.replacement
                                          << " after " << k.replaced_ms << " ms");
      BOOST_TEST(it::contains(log, "worker #" + std::to_string(k.slot) + " (pid " +
                                       std::to_string(k.victim) + ") killed by signal 9"));
      BOOST_TEST(it::contains(log, "started worker #" + std::to_string(k.slot) + " (pid " +
                                       std::to_string(k.replacement) + ")"));
      BOOST_TEST(!ps::process_alive(k.victim));
    }
    const ps::ServerTree tree = ps::server_tree(master);
    BOOST_TEST(tree.workers.size() == 2U, tree.describe());
    BOOST_TEST(tree.agents.size() == 1U, tree.describe());
    for (pid_t w : tree.workers) BOOST_TEST(victims.count(w) == 0U, "pid " << w << " is back");

    // Keep-alive connections: only those a killed worker owned may fail (owner 0: the worker
    // died between the accept and the lookup, which a kill in that window explains).
    const auto killed_during = [&](Clock::time_point from, Clock::time_point to) {
      for (const Kill& k : kills)
        if (k.at >= from - 10ms && k.at <= to + 10ms) return true;
      return false;
    };
    std::map<pid_t, Clock::time_point> killed_at;
    for (const Kill& k : kills) killed_at[k.victim] = k.at;
    int victims_owned = 0;
    int failed = 0;
    int excused = 0;        // on a connection a killed worker owned, at or after its kill
    int unknown_owner = 0;  // on a connection whose worker died before the lookup
    std::string unexplained;
    for (const OpenedConnection& c : opened) {
      const auto victim = killed_at.find(c.owner);
      victims_owned += victim != killed_at.end() ? 1 : 0;
      if (!c.failed) continue;
      ++failed;
      if (victim != killed_at.end() && c.failed_at >= victim->second - 10ms) {
        ++excused;
        continue;
      }
      if (c.owner == 0 && killed_during(c.opened, c.owner_known)) {
        ++unknown_owner;
        continue;
      }
      unexplained += "client " + std::to_string(c.client) + ", owner pid " +
                     std::to_string(c.owner) + ", " +
                     std::to_string(ms_between(kills.front().at, c.failed_at)) +
                     " ms after the first kill: " + c.error + "\n";
    }
    int owned_at_kills = 0;
    for (const Kill& k : kills) owned_at_kills += k.owned;
    BOOST_TEST_MESSAGE("keep-alive load: "
                       << clients.requests() << " requests on " << opened.size() << " connections, "
                       << failed << " failed (" << excused << " on connections of a killed worker, "
                       << unknown_owner
                       << " on connections whose worker was killed before the owner lookup); the "
                          "killed workers owned "
                       << victims_owned << " connections (" << owned_at_kills
                       << " live at the moments of the kills)");
    BOOST_TEST(unexplained.empty(), "keep-alive failures no kill explains:\n" << unexplained);
    // Each connection fails at most once (the client then opens a new one).
    BOOST_TEST(excused <= victims_owned);
    BOOST_TEST(unknown_owner <= kKills * kClients);
    BOOST_TEST(clients.successes() >= 250);

    // Fresh connections: only a request caught by a kill on the victim's connection may fail.
    int fresh_ok = 0;
    int fresh_excused = 0;
    std::string fresh_unexplained;
    for (const ps::LoadSample& s : samples) {
      if (s.ok) {
        ++fresh_ok;
        continue;
      }
      const bool victims_conn = victims.count(s.owner) > 0 || s.owner == 0;
      if (s.connected && victims_conn && killed_during(s.start, s.end)) {
        ++fresh_excused;
        continue;
      }
      fresh_unexplained += "owner pid " + std::to_string(s.owner) +
                           (s.connected ? "" : " (connect failed)") + ": " + s.error + "\n";
    }
    BOOST_TEST_MESSAGE("fresh-connection load: " << samples.size() << " requests, " << fresh_ok
                                                 << " ok, " << fresh_excused
                                                 << " caught by a kill");
    BOOST_TEST(fresh_unexplained.empty(), "new-connection failures:\n" << fresh_unexplained);
    BOOST_TEST(fresh_ok >= 30);
    BOOST_TEST(fresh_excused <= kKills);
  }
}

BOOST_AUTO_TEST_CASE(the_agent_killed_under_proxy_load) {
  it::TestBackend backend;
  it::TestServer server(proxy_config(backend, 2));
  const proc::DumpOnFailure dump(server);
  proc::require_ready(server, 2);
  const pid_t master = server.process().pid();
  const ps::ServerTree before = ps::server_tree(master);
  BOOST_TEST_REQUIRE(before.agents.size() == 1U, before.describe());
  BOOST_TEST_REQUIRE(before.workers.size() == 2U, before.describe());

  it::LoadOptions lo;
  lo.port = server.port();
  lo.connections = 8;
  lo.target = kTarget;
  lo.duration = 20s;
  it::LoadDriver load(lo);
  BOOST_TEST_REQUIRE(load.wait_for_successes(100, 10s), load.snapshot().summary());

  // Killed three times in a row (the third respawn is backed off), each replacement awaited.
  constexpr int kKills = 3;
  std::vector<pid_t> agents{before.agents[0]};
  for (int k = 0; k < kKills; ++k) {
    const pid_t victim = agents.back();
    BOOST_TEST_REQUIRE(::kill(victim, SIGKILL) == 0);
    pid_t next = 0;
    const bool back = ps::wait_until(
        [&] {
          const ps::ServerTree t = ps::server_tree(master);
          if (t.agents.size() != 1U || t.agents[0] == victim) return false;
          next = t.agents[0];
          const std::string log = server.error_log();
          return it::contains(log, "started agent (pid " + std::to_string(next) + ")") &&
                 it::contains(log, "agent (pid " + std::to_string(next) + ") is ready");
        },
        4s, 5ms);
    BOOST_TEST_REQUIRE(back, "no new agent after kill " << k + 1 << "\n" << server.diagnostics());
    agents.push_back(next);
    const std::uint64_t ok = load.snapshot().successes;
    BOOST_TEST_REQUIRE(load.wait_for_successes(ok + 50, 5s),
                       "the load stalled after kill " << k + 1);
  }
  const pid_t agent = agents.back();
  // Its duty: USR1 makes the master have everyone reopen the logs; the new agent does too.
  const std::string reopened = std::to_string(agent) + "#agent: reopened log files";
  server.process().send_signal(SIGUSR1);
  const bool ack =
      ps::wait_until([&] { return it::contains(server.error_log(), reopened); }, 4s, 5ms);
  const it::LoadStats stats = load.stop();

  BOOST_TEST_CONTEXT(server.diagnostics() << "\n" << stats.summary()) {
    BOOST_TEST(ack, "the new agent (pid " << agent << ") never reopened its log files");
    const std::string log = server.error_log();
    for (std::size_t i = 0; i + 1 < agents.size(); ++i) {
      BOOST_TEST(
          it::contains(log, "agent (pid " + std::to_string(agents[i]) + ") killed by signal 9"));
      BOOST_TEST(!ps::process_alive(agents[i]));
    }
    const ps::ServerTree after = ps::server_tree(master);
    BOOST_TEST(after.agents == std::vector<pid_t>{agent}, after.describe());
    BOOST_TEST(after.workers == before.workers, "the workers changed: " << after.describe());
    BOOST_TEST_MESSAGE("agent kills: " << kKills << "; load: " << stats.attempts << " requests, "
                                       << stats.successes << " ok, " << stats.failures
                                       << " failed");
    BOOST_TEST(stats.failures == 0U);
    BOOST_TEST(stats.successes >= 250U);
  }
}

BOOST_AUTO_TEST_CASE(an_upstream_killed_and_restarted_under_proxy_load) {
  auto a = backend_outside_ephemeral_range("a");
  it::TestBackend b{it::BackendOptions{"b"}};
  const int a_port = a->port();
  // A server that failed is skipped for fail_timeout; short, so that the restart shows soon.
  it::TestServer server(px::config(
      px::upstream("app", {a->address(), b.address()}, "keepalive = 4", "fail_timeout = \"1s\""),
      px::location("/", "http://app"), "", 2));
  const proc::DumpOnFailure dump(server);
  proc::require_ready(server, 2);

  it::LoadOptions lo;
  lo.port = server.port();
  lo.connections = 8;
  lo.target = kTarget;
  lo.duration = 25s;
  it::LoadDriver load(lo);
  BOOST_TEST_REQUIRE(load.wait_for_successes(100, 10s), load.snapshot().summary());

  constexpr int kCycles = 2;
  std::size_t open_at_kills = 0;
  std::vector<std::size_t> b_while_down;
  std::vector<std::size_t> a_after_restart;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    BOOST_TEST_REQUIRE(ps::wait_until([&] { return a->requests() >= 20U; }, 5s),
                       "upstream a gets no requests before kill " << cycle + 1);
    // Kill: every connection to `a` is cut, mid-request or idle in serverd's pool.
    open_at_kills += a->open_connections();
    a.reset();
    load.set_phase(2 * cycle + 1);
    const std::size_t b_before = b.requests();
    const std::uint64_t ok = load.snapshot().successes;
    BOOST_TEST_REQUIRE(load.wait_for_successes(ok + 100, 5s), "the load stalled with a down");
    b_while_down.push_back(b.requests() - b_before);

    // Restart on the same port: serverd tries it again once fail_timeout has passed.
    it::BackendOptions o;
    o.name = "a";
    o.port = a_port;
    a = std::make_unique<it::TestBackend>(o);
    load.set_phase(2 * cycle + 2);
    const bool used = ps::wait_until([&] { return a->requests() >= 20U; }, 6s);
    a_after_restart.push_back(a->requests());
    BOOST_TEST_REQUIRE(used, "the restarted upstream gets no requests\n" << server.error_log());
  }
  const it::LoadStats stats = load.stop();

  BOOST_TEST_CONTEXT(stats.summary()) {
    std::string down;
    for (std::size_t i = 0; i < b_while_down.size(); ++i)
      down += (i ? ", " : "") + std::to_string(b_while_down[i]) + " on b while a was down / " +
              std::to_string(a_after_restart[i]) + " on a after its restart";
    BOOST_TEST_MESSAGE("upstream kills: " << kCycles << " (a on port " << a_port << "; " << down
                                          << "); load: " << stats.attempts << " requests, "
                                          << stats.successes << " ok, " << stats.failures
                                          << " failed; " << open_at_kills
                                          << " connections were open to a when it was killed");
    // GET is idempotent: a request whose attempt on `a` died before any response byte is
    // retried on `b`. Only one already receiving a's response cannot be replayed, and each of
    // those was on a connection open to `a` at the kill.
    if (stats.failures > 0)
      BOOST_TEST_MESSAGE("serverd's errors:\n"
                         << [&] {
                              std::string all;
                              for (const auto& l : ps::lines_with(server.error_log(), "[error]"))
                                all += l + "\n";
                              return all;
                            }());
    BOOST_TEST(stats.failures <= open_at_kills);
    BOOST_TEST(stats.successes >= 300U);
    for (int phase = 1; phase <= 2 * kCycles; ++phase)
      BOOST_TEST(stats.successes_in(phase) >= 20U, "phase " << phase);
  }
}

BOOST_AUTO_TEST_SUITE_END()
