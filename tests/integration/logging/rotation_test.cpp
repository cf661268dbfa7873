// Log rotation by the agent under load: [log.rotate] max_size = "8KiB", keep = 3, compress =
// true, with 4 client threads x 2,000 requests on keep-alive connections and json lines.
//
// With keep = 3 the agent deletes the oldest rotated file at every rotation, so the lines of a
// whole run are never all on disk at the end. A collector thread therefore watches the log
// directory while the load runs and decompresses every access.log.N.gz it has not seen yet
// (a rotated file lives for three rotations, at least 600 ms with the agent's 200 ms check, and
// the collector looks every 5 ms). Every request carries a unique id; at the end, the ids in
// the collected .gz files plus the live file must be exactly the ids of the successful
// responses: no line lost, none duplicated, none torn, and every line valid JSON.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "../../unit/modules/access_log/strict_json.hpp"
#include "../harness/checks.hpp"
#include "../harness/test_server.hpp"
#include "logging_support.hpp"

namespace it = serverd::itest;
namespace lg = serverd::itest::logging;
namespace json = serverd::test::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kKeep = 3;
constexpr int kThreads = 4;
constexpr int kRequestsPerThread = 2000;

struct RotatedFile {
  std::string name;  // where it was first seen, e.g. "access.log.1.gz"
  std::string content;
};

// Watches DIR/logs for rotated access logs while the load runs.
class Collector {
 public:
  explicit Collector(std::filesystem::path dir) : dir_(std::move(dir)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Collector() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // One more pass (after the load and the last rotation).
  void scan() {
    std::lock_guard lock(mutex_);
    scan_locked();
  }
  std::vector<RotatedFile> files() const {
    std::lock_guard lock(mutex_);
    std::vector<RotatedFile> out;
    for (const auto& [content, name] : by_content_) out.push_back({name, content});
    return out;
  }
  int max_number() const { return max_number_.load(); }

 private:
  void run() {
    for (int i = 0; i < 100000 && !stop_; ++i) {
      {
        std::lock_guard lock(mutex_);
        scan_locked();
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  void scan_locked() {
    static const std::regex name_re(R"(^access\.log\.(\d+)(\.gz)?$)");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      std::smatch m;
      if (!std::regex_match(name, m, name_re)) continue;
      const int n = std::stoi(m[1]);
      if (n > max_number_) max_number_ = n;
      if (!m[2].matched) continue;  // not compressed yet
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) continue;  // shifted or deleted meanwhile
      const Identity id{st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
      if (seen_.count(id)) continue;
      auto content = lg::read_gzip(entry.path());
      if (!content) {
        // Renamed away or deleted between stat and gzopen: look again next time. A .gz
        // that exists and stays unreadable is reported at the end (final check).
        continue;
      }
      seen_.insert(id);
      by_content_.emplace(std::move(*content), name);
    }
  }

  struct Identity {
    ino_t ino;
    off_t size;
    long sec;
    long nsec;
    bool operator<(const Identity& o) const {
      return std::tie(ino, size, sec, nsec) < std::tie(o.ino, o.size, o.sec, o.nsec);
    }
  };

  std::filesystem::path dir_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_number_{0};
  mutable std::mutex mutex_;
  std::set<Identity> seen_;
  std::map<std::string, std::string> by_content_;  // content -> first name
  std::thread thread_;
};

struct ClientResult {
  std::vector<std::string> ok_targets;
  int failures = 0;
  std::string first_failure;
};

void client(int port, int t, ClientResult& out) {
  std::optional<it::HttpConnection> conn;
  for (int i = 0; i < kRequestsPerThread; ++i) {
    const std::string target = "/hi?t=" + std::to_string(t) + "&n=" + std::to_string(i);
    try {
      if (!conn) conn.emplace(it::HttpConnection::connect(port));
      conn->send(it::get_request(target));
      const it::Response r = conn->expect_response();
      if (r.status == 200 && r.body == "hi\n") {
        out.ok_targets.push_back(target);
      } else {
        ++out.failures;
      }
      if (it::contains(r.header("Connection").value_or(""), "close")) conn.reset();
      // Paced so that the run spans about ten of the agent's 200 ms checks: enough rotations
      // for keep = 3 to delete files while the load is still running.
      std::this_thread::sleep_for(1ms);
    } catch (const std::exception& e) {
      if (out.failures++ == 0) out.first_failure = e.what();
      conn.reset();
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_rotation)

// The agent checks sizes every 200 ms, so a file grows past max_size by whatever arrives in
// between and rotations are at most five a second: an unpaced burst of 8,000 requests finishes
// within one or two checks (that is the design, not a fault). The clients are paced (1 ms per
// request) so that the run spans several checks and keep = 3 really deletes files meanwhile.
BOOST_AUTO_TEST_CASE(rotation_under_load_loses_no_line) {
  it::TestServer server(
      lg::logging_config(2, "access_log_format = \"json\"\n",
                         "\n[log.rotate]\nmax_size = \"8KiB\"\nkeep = 3\ncompress = true\n"),
      lg::populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const auto logs = server.dir() / "logs";
  const auto live = logs / "access.log";

  Collector collector(logs);
  std::vector<ClientResult> results(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back(client, server.port(), t, std::ref(results[static_cast<size_t>(t)]));
    for (auto& th : threads) th.join();
  }
  std::multiset<std::string> sent;
  int failures = 0;
  for (const auto& r : results) {
    sent.insert(r.ok_targets.begin(), r.ok_targets.end());
    failures += r.failures;
    BOOST_TEST(r.failures == 0, "client failure: " << r.first_failure);
  }
  BOOST_TEST(failures == 0);

  // Let the workers flush (100ms) and the agent finish a last rotation: no uncompressed rotated
  // file left and the live file below the limit (or stable), then one final scan.
  auto settled = [&] {
    std::error_code ec;
    for (int n = 1; n <= kKeep + 1; ++n)
      if (std::filesystem::exists(logs / ("access.log." + std::to_string(n)), ec)) return false;
    const auto size = std::filesystem::file_size(live, ec);
    return !ec && size < 8 * 1024;
  };
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 200 && !settled(); ++i) std::this_thread::sleep_for(25ms);
  std::this_thread::sleep_for(500ms);  // a check (200 ms) that finds nothing more to do
  collector.scan();
  collector.stop();

  BOOST_TEST(collector.max_number() <= kKeep, "saw access.log." << collector.max_number());
  // Every .gz on disk at the end decompresses.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(logs, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".gz")) BOOST_TEST(lg::read_gzip(entry.path()).has_value(), name);
    BOOST_TEST(!name.ends_with(".tmp"), name);
  }

  const auto rotated = collector.files();
  // More rotated files than `keep`: the oldest were deleted during the run, and their lines
  // are only known through the collector.
  BOOST_TEST_MESSAGE(rotated.size() << " rotated files collected, " << sent.size() << " responses");
  BOOST_TEST(rotated.size() > std::size_t{kKeep}, "only " << rotated.size() << " rotations seen");
  std::multiset<std::string> logged;
  std::size_t bad = 0;
  auto take = [&](const std::string& where, const std::string& content) {
    bool torn = false;
    const auto lines = lg::split_lines(content, &torn);
    BOOST_TEST(!torn, where << " ends inside a line");
    for (const auto& line : lines) {
      std::string error;
      const auto v = json::parse(line, &error);
      if (!v || !v->find("request")) {
        if (bad++ < 5)
          BOOST_TEST(false,
                     where << ": not a JSON log line (" << error << "): " << it::printable(line));
        continue;
      }
      const std::string& request = v->find("request")->text;  // "GET /hi?t=0&n=1 HTTP/1.1"
      logged.insert(request.substr(4, request.size() - 4 - 9));
    }
  };
  for (const auto& f : rotated) take(f.name, f.content);
  take("access.log", it::read_file(live));

  BOOST_TEST(bad == 0u);
  BOOST_TEST(sent.size() == std::size_t{kThreads} * kRequestsPerThread);
  BOOST_TEST(logged.size() == sent.size(), "lines " << logged.size() << " vs responses "
                                                    << sent.size() << " across " << rotated.size()
                                                    << " rotated files");
  std::size_t duplicates = 0;
  for (auto it2 = logged.begin(); it2 != logged.end(); it2 = logged.upper_bound(*it2))
    duplicates += logged.count(*it2) - 1;
  BOOST_TEST(duplicates == 0u);
  std::vector<std::string> missing;
  std::set_difference(sent.begin(), sent.end(), logged.begin(), logged.end(),
                      std::back_inserter(missing));
  BOOST_TEST(missing.empty(), missing.size() << " responses without a line, e.g. "
                                             << (missing.empty() ? "" : missing.front()));
}

BOOST_AUTO_TEST_SUITE_END()
