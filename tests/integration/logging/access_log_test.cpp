// The access log against the real server: one combined line per response with the right status
// and body size (HEAD included), the json format line by line through a strict parser, USR1
// after an external `mv` (no line lost, new lines in a new file), and "off" in a location.
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
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

namespace {

struct Sent {
  std::string method;
  std::string target;
  std::string referer = "-";
  std::string user_agent = "-";
};

// What a request should leave in the log: method, target, status, body bytes, referer, agent.
using Key = std::tuple<std::string, std::string, int, std::uint64_t, std::string, std::string>;

// Sends `s` on `conn` and returns its log key (status and body size as the client saw them).
Key exchange(it::HttpConnection& conn, const Sent& s) {
  std::string extra;
  if (s.referer != "-") extra += "Referer: " + s.referer + "\r\n";
  if (s.user_agent != "-") extra += "User-Agent: " + s.user_agent + "\r\n";
  conn.send(it::make_request(s.method, s.target, "localhost", extra));
  it::ReadOptions ro;
  ro.head = s.method == "HEAD";
  const it::Response r = conn.expect_response(ro);
  return {s.method, s.target, r.status, r.body.size(), s.referer, s.user_agent};
}

// nginx's escaping of a logged value.
std::string escaped(std::string_view v) {
  std::string out;
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  return out;
}

std::vector<Sent> mixed_requests() {
  std::vector<Sent> v;
  for (int i = 0; i < 6; ++i) v.push_back({"GET", "/?n=" + std::to_string(i)});
  for (int i = 0; i < 4; ++i) v.push_back({"GET", "/missing-" + std::to_string(i) + ".html"});
  v.push_back({"HEAD", "/"});
  v.push_back({"HEAD", "/missing"});
  v.push_back({"GET", "/hi", "http://example.com/from", "curl/8.0 \"quoted\" \\ back"});
  v.push_back({"GET", "/hi?x=1&y=2", "-", "Mozilla/5.0 (X11) \xc3\xa9\xff"});
  return v;
}

std::filesystem::path log_path(const it::TestServer& s) {
  return s.dir() / "logs/access.log";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(access_log)

BOOST_AUTO_TEST_CASE(one_combined_line_per_response) {
  it::TestServer server(lg::logging_config(2), lg::populate);
  const auto requests = mixed_requests();
  std::multiset<Key> expected;
  {
    // Half on one keep-alive connection, half on a connection each.
    it::HttpConnection keep = server.connect();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (i % 2 == 0) {
        expected.insert(exchange(keep, requests[i]));
      } else {
        it::HttpConnection fresh = server.connect();
        expected.insert(exchange(fresh, requests[i]));
      }
    }
  }
  // Statuses as intended: the test is about the log, but check it exercises 200, 404 and HEAD.
  BOOST_TEST(std::count_if(expected.begin(), expected.end(),
                           [](const Key& k) { return std::get<2>(k) == 404; }) == 5);

  lg::wait_for_lines(log_path(server), requests.size());
  std::this_thread::sleep_for(300ms);  // three flush intervals: nothing more may appear
  const auto final_lines = lg::file_lines(log_path(server));
  BOOST_TEST_REQUIRE(final_lines.size() == requests.size(), server.diagnostics());

  std::multiset<Key> logged;
  for (const auto& line : final_lines) {
    BOOST_TEST_CONTEXT("line: " << it::printable(line)) {
      const auto c = lg::parse_combined(line);
      BOOST_TEST_REQUIRE(c.has_value());
      BOOST_TEST(c->remote_addr == "127.0.0.1");
      BOOST_TEST(c->protocol == "HTTP/1.1");
      logged.emplace(c->method, c->target, c->status, c->bytes, c->referer, c->user_agent);
    }
  }
  std::multiset<Key> expected_escaped;
  for (const auto& [m, t, st, b, r, ua] : expected)
    expected_escaped.emplace(m, t, st, b, escaped(r), escaped(ua));
  BOOST_TEST((logged == expected_escaped));
  // The HEAD lines say 0 body bytes, as the client got none.
  for (const auto& k : logged)
    if (std::get<0>(k) == "HEAD") BOOST_TEST(std::get<3>(k) == 0u);
}

BOOST_AUTO_TEST_CASE(json_lines_parse) {
  it::TestServer server(lg::logging_config(2, "access_log_format = \"json\"\n"), lg::populate);
  const auto requests = mixed_requests();
  std::multiset<Key> expected;
  it::HttpConnection keep = server.connect();
  for (const auto& r : requests) expected.insert(exchange(keep, r));

  const auto lines = lg::wait_for_lines(log_path(server), requests.size());
  BOOST_TEST_REQUIRE(lines.size() == requests.size(), server.diagnostics());
  std::multiset<Key> logged;
  for (const auto& line : lines) {
    BOOST_TEST_CONTEXT("line: " << it::printable(line)) {
      std::string error;
      const auto v = json::parse(line, &error);
      BOOST_TEST_REQUIRE(v.has_value(), error);
      BOOST_TEST(v->members.size() == 13u);
      BOOST_TEST(v->find("remote_addr")->text == "127.0.0.1");
      BOOST_TEST(v->find("host")->text == "localhost");
      BOOST_TEST(v->find("upstream_addr")->is_null());
      BOOST_TEST(v->find("request_time")->is_number());
      const std::string method = v->find("method")->text;
      const std::string request = v->find("request")->text;
      const std::string target =
          request.substr(method.size() + 1, request.size() - method.size() - 10);
      BOOST_TEST(request.ends_with(" HTTP/1.1"));
      const auto* ref = v->find("http_referer");
      const auto* ua = v->find("http_user_agent");
      auto text_or_dash = [](const json::Value* x) {
        return x->is_null() ? std::string("-") : x->text;
      };
      logged.emplace(method, target, std::stoi(v->find("status")->text),
                     std::stoull(v->find("body_bytes_sent")->text), text_or_dash(ref),
                     text_or_dash(ua));
    }
  }
  // The invalid UTF-8 byte 0xFF comes back as U+00FF; everything else as sent.
  std::multiset<Key> expected_decoded;
  for (auto [m, t, st, b, r, ua] : expected) {
    if (const auto p = ua.find('\xff'); p != std::string::npos) ua.replace(p, 1, "\xc3\xbf");
    expected_decoded.emplace(m, t, st, b, r, ua);
  }
  BOOST_TEST((logged == expected_decoded));
}

BOOST_AUTO_TEST_CASE(usr1_after_mv_reopens_without_losing_lines) {
  it::TestServer server(lg::logging_config(2), lg::populate);
  BOOST_TEST_REQUIRE(server.wait_for_log("serverd ready", 5s), server.diagnostics());
  const auto live = log_path(server);
  const auto old = server.dir() / "logs/access.log.1";
  constexpr int kBefore = 40, kAfter = 30;
  auto burst = [&](const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      it::HttpConnection c = server.connect();  // spread over both workers
      c.send(it::get_request("/hi?" + tag + "=" + std::to_string(i)));
      BOOST_TEST_REQUIRE(c.expect_response().status == 200);
    }
  };
  burst("before", kBefore);
  // Some of these lines are still in the workers' buffers (100ms) when the file is renamed:
  // they must land in the renamed file when the workers reopen.
  std::filesystem::rename(live, old);
  const std::size_t reopened_before =
      lg::count_log_lines(server.error_log(), {"#worker", "reopened log files"});
  server.process().send_signal(SIGUSR1);
  bool reopened = false;
  for (int i = 0; i < 300 && !reopened; ++i) {
    reopened = lg::count_log_lines(server.error_log(), {"#worker", "reopened log files"}) >=
               reopened_before + 2;
    if (!reopened) std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST_REQUIRE(reopened, "the workers did not reopen within 3 s\n" << server.diagnostics());
  burst("after", kAfter);

  lg::wait_for_lines(live, kAfter);
  lg::wait_for_lines(old, kBefore);
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(lg::file_lines(old).size() == std::size_t{kBefore});
  BOOST_TEST(lg::file_lines(live).size() == std::size_t{kAfter});
  for (const auto& l : lg::file_lines(old))
    BOOST_TEST(l.find("GET /hi?before=") != std::string::npos, l);
  for (const auto& l : lg::file_lines(live))
    BOOST_TEST(l.find("GET /hi?after=") != std::string::npos, l);
}

BOOST_AUTO_TEST_CASE(off_in_a_location_writes_nothing) {
  it::TestServer server(lg::logging_config(1), lg::populate);
  for (int i = 0; i < 10; ++i) {
    const it::Response r = server.get("/quiet/" + std::to_string(i));
    BOOST_TEST_REQUIRE(r.status == 200);
  }
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(lg::file_lines(log_path(server)).empty());
  // The server's own requests are still logged.
  BOOST_TEST_REQUIRE(server.get("/hi").status == 200);
  lg::wait_for_lines(log_path(server), 1);
  std::this_thread::sleep_for(200ms);
  const auto final_lines = lg::file_lines(log_path(server));
  BOOST_TEST_REQUIRE(final_lines.size() == 1u);
  BOOST_TEST(final_lines[0].find("\"GET /hi HTTP/1.1\" 200 3 ") != std::string::npos,
             final_lines[0]);
}

BOOST_AUTO_TEST_SUITE_END()
