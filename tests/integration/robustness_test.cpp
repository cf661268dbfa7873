// 1,000 malformed requests, each on its own connection: every one gets a 4xx or a close,
// nothing hangs, nothing crashes, and a valid request still works afterwards.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "harness/checks.hpp"
#include "harness/process_runner.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Small deterministic generator (no global state).
class Rng {
 public:
  explicit Rng(std::uint32_t seed) : x_(seed == 0 ? 1U : seed) {}
  std::uint32_t next() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 17;
    x_ ^= x_ << 5;
    return x_;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  std::string bytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(next() & 0xffU);
    return s;
  }
  template <typename T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

 private:
  std::uint32_t x_;
};

// Connection: close so that a leniently accepted request ends with a close too.
const char* const kHost = "Host: localhost\r\nConnection: close\r\n";

// Every case is decidable from the bytes sent: a correct server answers (4xx) or closes at
// once, without waiting for more input.
std::string malformed_request(int index, Rng& rng) {
  static const char* const bad_methods[] = {"G@T",      "GET\x01", "GE T", "(GET)",   "GET/",
                                            "\x80\x81", "G\tET",   "{}",   "GET,POST"};
  static const char* const bad_versions[] = {"HTTP/9.9",       "HTTX/1.1",  "http/1.1",
                                             "HTTP/1.10",      "HTTP/1.",   "HTTP/",
                                             "HTTP/1.1 extra", "HTTP/-1.1", "HTTP/1,1"};
  static const char* const bad_chunks[] = {"zz\r\n",
                                           "-1\r\n",
                                           "ffffffffffffffffffffff\r\n",
                                           "5\r\nhello\r\nX\r\n",
                                           "5\r\nhelloXX0\r\n\r\n",
                                           " 5\r\nhello\r\n",
                                           "0x5\r\nhello\r\n",
                                           "5\r\nhello\r\n\r\n\r\n"};
  static const char* const bad_headers[] = {"NoColon\r\n",
                                            "Host : x\r\n",
                                            " Folded: x\r\n",
                                            "Bad Name: x\r\n",
                                            ": empty\r\n",
                                            "X-A: b\rc\r\n",
                                            "Content-Length: 1e3\r\n",
                                            "Content-Length: 99999999999999999999999999\r\n",
                                            "Transfer-Encoding: gzip, chunked, zz\r\n"};
  switch (index % 9) {
    case 0:  // random bytes
      return rng.bytes(1 + rng.below(300)) + "\r\n\r\n";
    case 1:  // bad method
      return std::string(rng.pick(bad_methods)) + " / HTTP/1.1\r\n" + kHost + "\r\n";
    case 2:  // bad version
      return std::string("GET / ") + rng.pick(bad_versions) + "\r\n" + kHost + "\r\n";
    case 3: {  // overlong request line or header, often unterminated
      const std::size_t n = 5000 + rng.below(30000);
      if (rng.below(2) == 0) return "GET /" + std::string(n, 'a');
      return std::string("GET / HTTP/1.1\r\n") + kHost + "X-Long: " + std::string(n, 'x');
    }
    case 4: {  // NUL somewhere
      std::string r = std::string("GET /ind") + '\0' + "ex HTTP/1.1\r\n" + kHost + "\r\n";
      if (rng.below(2) == 0) {
        r = std::string("GET / HTTP/1.1\r\n") + kHost + "X-N: a" + '\0' + "b\r\n\r\n";
      }
      return r;
    }
    case 5:  // bare LF line ends (Connection: close so that a lenient server closes too)
      return rng.below(2) == 0 ? "GET / HTTP/1.1\nHost: localhost\nConnection: close\n\n"
                               : "GET / HTTP/1.1\r\nHost: localhost\nConnection: close\r\n\r\n";
    case 6:  // invalid chunk sizes
      return std::string("POST /r HTTP/1.1\r\n") + kHost + "Transfer-Encoding: chunked\r\n\r\n" +
             rng.pick(bad_chunks);
    case 7:  // bad header lines
      return std::string("GET / HTTP/1.1\r\n") + kHost + rng.pick(bad_headers) + "\r\n";
    default: {  // control bytes or spaces in the target, mangled request lines
      static const char* const lines[] = {
          "GET /a\x01"
          "b HTTP/1.1",
          "GET /a b HTTP/1.1",
          "GET",
          "GET  / HTTP/1.1",
          " / HTTP/1.1",
          "GET \x7f HTTP/1.1",
          "GET / HTTP/1.1 ",
          "\x16\x03\x01"};
      return std::string(rng.pick(lines)) + "\r\n" + kHost + "\r\n";
    }
  }
}

enum class Outcome { client_error, closed, other_status, hang, bad_response };

struct CaseResult {
  Outcome outcome = Outcome::hang;
  int status = 0;
  std::string detail;
};

CaseResult run_case(int port, const std::string& request) {
  CaseResult result;
  it::HttpConnection conn = it::HttpConnection::connect(port);
  conn.try_send(request, 1s);  // the server may close before reading everything: fine
  for (int responses = 0; responses < 4; ++responses) {
    const it::ReadResult r = conn.read_response(it::ReadOptions{false, 1500ms});
    switch (r.status) {
      case it::ReadStatus::ok:
        result.status = r.response.status;
        // 4xx; also 501 (unknown transfer coding) and 505 (HTTP version not supported).
        if ((r.response.status >= 400 && r.response.status < 500) || r.response.status == 501 ||
            r.response.status == 505) {
          result.outcome = Outcome::client_error;
          return result;
        }
        if (r.response.status >= 500) {
          result.outcome = Outcome::other_status;
          result.detail = it::printable(r.response.raw_head, 200);
          return result;
        }
        continue;  // e.g. a 200 for a leniently parsed request: it must then close
      case it::ReadStatus::closed:
      case it::ReadStatus::reset:
        result.outcome = Outcome::closed;
        return result;
      case it::ReadStatus::timeout:
        result.outcome = Outcome::hang;
        result.detail = r.error;
        return result;
      case it::ReadStatus::malformed:
        result.outcome = Outcome::bad_response;
        result.detail = r.error;
        return result;
    }
  }
  result.outcome = Outcome::other_status;
  result.detail = "several non-4xx responses without a close";
  return result;
}

// The master's children once they stop changing (workers may still be starting).
std::optional<std::vector<pid_t>> settled_children(pid_t master) {
  std::optional<std::vector<pid_t>> last = it::child_pids(master);
  for (int i = 0; i < 30 && last; ++i) {  // <= 3 s
    std::this_thread::sleep_for(100ms);
    auto now = it::child_pids(master);
    if (now == last) return now;
    last = std::move(now);
  }
  return last;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(thousand_malformed_requests) {
  it::TestServer server(it::simple_config("client_header_timeout = \"2s\"\n"
                                          "keepalive_timeout = \"2s\"\n"
                                          "max_uri_length = \"1KiB\"\n"
                                          "max_header_size = \"4KiB\"\n",
                                          "  [[server.location]]\n  path = \"/r\"\n"
                                          "  return = { status = 200, body = \"r\\n\" }\n"),
                        [](const it::TempDir& d) { d.write("html/index.html", "index\n"); });
  BOOST_REQUIRE(server.get("/r").status == 200);
  const pid_t master = server.process().pid();
  const auto children_before = settled_children(master);

  Rng rng(20240611U);
  std::map<Outcome, int> counts;
  std::map<int, int> statuses;
  std::map<int, std::string> by_kind;  // case kind (index % 9) -> outcomes
  std::vector<std::string> failures;
  const auto start = Clock::now();
  int done = 0;
  for (int i = 0; i < 1000; ++i) {
    if (Clock::now() - start > 20s || failures.size() >= 10) break;
    const std::string request = malformed_request(i, rng);
    const CaseResult r = run_case(server.port(), request);
    ++done;
    ++counts[r.outcome];
    if (r.status != 0) ++statuses[r.status];
    by_kind[i % 9] += r.status != 0 ? std::to_string(r.status)[0] : 'c';
    if (r.outcome != Outcome::client_error && r.outcome != Outcome::closed) {
      failures.push_back("case " + std::to_string(i) + " " + it::printable(request, 120) +
                         " -> outcome " + std::to_string(static_cast<int>(r.outcome)) + " " +
                         std::to_string(r.status) + " " + r.detail);
    }
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::string status_text;
  for (const auto& [status, n] : statuses) {
    status_text += std::to_string(status) + "x" + std::to_string(n) + " ";
  }
  BOOST_TEST_MESSAGE("robustness: " << done << " cases in " << elapsed.count() << " ms; 4xx "
                                    << counts[Outcome::client_error] << ", closed "
                                    << counts[Outcome::closed] << "; statuses " << status_text);
  for (const auto& [kind, outcomes] : by_kind) {
    std::map<char, int> n;
    for (char c : outcomes) ++n[c];
    std::string text;
    for (const auto& [c, k] : n) text += std::string(1, c) + "xx:" + std::to_string(k) + " ";
    BOOST_TEST_MESSAGE("  kind " << kind << ": " << text);
  }
  BOOST_TEST(done == 1000);
  std::string failure_text;
  for (const auto& f : failures) failure_text += "\n  " + f;
  BOOST_TEST(failures.empty(), failures.size() << " bad outcomes:" << failure_text);

  BOOST_TEST(server.process().alive());
  BOOST_TEST(server.process().pid() == master);
  if (children_before) {
    // No worker crashed and was replaced along the way.
    BOOST_TEST((it::child_pids(master) == children_before),
               "the master's children changed: a worker or the agent died");
  }
  const it::Response ok = server.get("/r");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == "r\n");
}

BOOST_AUTO_TEST_SUITE_END()
