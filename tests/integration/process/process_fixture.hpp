#pragma once
// Shared by the process-model tests (master / agent / workers): a config with N workers, a
// `return` location, and helpers to wait for readiness and for processes to go away.
#include <sys/types.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "../harness/http_client.hpp"
#include "../harness/process_tree.hpp"
#include "../harness/test_server.hpp"

namespace serverd::itest::proc {

using namespace std::chrono_literals;

inline constexpr std::string_view kBody = "r\n";

// [main] with `workers` workers (plus `main_lines`), the error log at info level, one server on
// {PORT} (or `listen`, a TOML array) with exact location /r returning 200 "r\n", prefix
// /slow returning 200 "slow done\n" and static files from html/.
inline std::string process_config(int workers, std::string_view main_lines = "",
                                  std::string_view listen = R"(["127.0.0.1:{PORT}"])") {
  std::string c =
      "[main]\npid_file = \"serverd.pid\"\nworker_processes = " + std::to_string(workers) + "\n";
  c += main_lines;
  c += "\n[log]\nerror_log = \"error.log\"\nlevel = \"info\"\n\n";
  c += "[[server]]\nlisten = ";
  c += listen;
  c += "\nserver_name = [\"localhost\"]\n\n"
       "  [[server.location]]\n"
       "  path = \"/r\"\n"
       "  match = \"exact\"\n"
       "  return = { status = 200, body = \"r\\n\" }\n\n"
       "  [[server.location]]\n"
       "  path = \"/slow\"\n"
       "  return = { status = 200, body = \"slow done\\n\" }\n\n"
       "  [[server.location]]\n"
       "  path = \"/\"\n"
       "  root = \"html\"\n";
  return c;
}

inline void populate(const TempDir& d) {
  d.write("html/index.html", "index\n");
}

inline std::string ready_line(int workers) {
  return "serverd ready: 1 agent and " + std::to_string(workers) + " workers serving";
}

// Waits (<= 5 s) for the master's ready line; the test cannot go on without it.
inline void require_ready(const TestServer& server, int workers) {
  BOOST_TEST_REQUIRE(server.wait_for_log(ready_line(workers), 5s), "no \"" << ready_line(workers)
                                                                           << "\" within 5 s\n"
                                                                           << server.diagnostics());
}

inline std::string ok_request() {
  return get_request("/r");
}

// All of `pids` gone (dead or zombie) within `timeout`.
inline bool all_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout) {
  return ps::wait_until(
      [&] {
        for (pid_t p : pids)
          if (ps::process_alive(p)) return false;
        return true;
      },
      timeout, 5ms);
}

inline std::string pids_text(const std::vector<pid_t>& pids) {
  std::string s;
  for (pid_t p : pids) s += (s.empty() ? "" : " ") + std::to_string(p);
  return s;
}

inline std::vector<pid_t> alive_of(const std::vector<pid_t>& pids) {
  std::vector<pid_t> out;
  for (pid_t p : pids)
    if (ps::process_alive(p)) out.push_back(p);
  return out;
}

// The master, its agent and its workers, as a flat list.
inline std::vector<pid_t> whole_tree(pid_t master) {
  const ps::ServerTree t = ps::server_tree(master);
  std::vector<pid_t> all{master};
  all.insert(all.end(), t.agents.begin(), t.agents.end());
  all.insert(all.end(), t.workers.begin(), t.workers.end());
  for (const auto& o : t.others) all.push_back(o.pid);
  return all;
}

// A 200 "r\n" on the connection (false, with the reason in `why`, otherwise).
inline bool request_ok(HttpConnection& conn, std::string* why) {
  if (!conn.try_send(ok_request())) {
    *why = "send failed";
    return false;
  }
  ReadOptions ro;
  ro.timeout = 2s;
  const ReadResult r = conn.read_response(ro);
  if (r.status != ReadStatus::ok) {
    *why = std::string(to_string(r.status)) + ": " + r.error;
    return false;
  }
  if (r.response.status != 200 || r.response.body != kBody) {
    *why = "unexpected response: " + printable(r.response.raw_head + r.response.body);
    return false;
  }
  return true;
}

// A 200 "r\n" on a fresh connection.
inline bool fresh_request_ok(int port, std::string* why) {
  try {
    HttpConnection conn = HttpConnection::connect(port, 1s);
    return request_ok(conn, why);
  } catch (const std::exception& e) {
    *why = e.what();
    return false;
  }
}

// True once the running test case has a failed assertion.
inline bool current_test_failed() {
  namespace ut = boost::unit_test;
  return ut::results_collector.results(ut::framework::current_test_case().p_id)
             .p_assertions_failed > 0U;
}

// BOOST_TEST_CONTEXT captures the server's output when the context is entered; this prints
// what the server said until the end, when the test has failed.
class DumpOnFailure {
 public:
  explicit DumpOnFailure(const TestServer& server) : server_(server) {}
  ~DumpOnFailure() {
    if (current_test_failed())
      BOOST_TEST_MESSAGE("--- serverd output at the end of the failed test ---\n"
                         << server_.diagnostics());
  }
  DumpOnFailure(const DumpOnFailure&) = delete;
  DumpOnFailure& operator=(const DumpOnFailure&) = delete;

 private:
  const TestServer& server_;
};

}  // namespace serverd::itest::proc
