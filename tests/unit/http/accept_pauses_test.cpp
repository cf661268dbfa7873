// The accept-pause log: one line when a shortage starts, then at most one per interval with the
// pauses in between counted, and "accepting again" only after a reported pause.
#include "http/accept_pauses.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

using serverd::AcceptPauses;
using serverd::Clock;
using namespace std::chrono_literals;

namespace {
constexpr std::string_view kWhat = "accept() on 127.0.0.1:80 failed: Too many open files";
}

BOOST_AUTO_TEST_SUITE(accept_pauses)

BOOST_AUTO_TEST_CASE(a_sustained_shortage_logs_once_per_interval_with_a_count) {
  AcceptPauses pauses(100ms, 10s);
  const Clock::time_point t0 = Clock::now();
  BOOST_TEST(!pauses.pausing());
  const auto first = pauses.paused(t0, kWhat, true);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->severe);
  BOOST_TEST(first->text == std::string(kWhat) + "; pausing accept, retrying every 100ms");
  BOOST_TEST(pauses.pausing());
  // Ten seconds of retries every 100 ms: silent.
  int lines = 0;
  for (int i = 1; i < 100; ++i) lines += pauses.paused(t0 + i * 100ms, kWhat, true) ? 1 : 0;
  BOOST_TEST(lines == 0);
  const auto second = pauses.paused(t0 + 10s, kWhat, true);
  BOOST_TEST_REQUIRE(second.has_value());
  BOOST_TEST(second->text == std::string(kWhat) +
                                 "; pausing accept, retrying every 100ms (99 more pauses since "
                                 "the last such line 10s ago)");
  for (int i = 1; i <= 25; ++i) BOOST_TEST(!pauses.paused(t0 + 10s + i * 100ms, kWhat, true));
  const auto again = pauses.accepted(t0 + 12600ms, "127.0.0.1:80");
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->severe);
  BOOST_TEST(again->text == "accepting again on 127.0.0.1:80 after 126 pauses over 12600ms");
  BOOST_TEST(!pauses.pausing());
  BOOST_TEST(!pauses.accepted(t0 + 12700ms, "127.0.0.1:80"));
}

BOOST_AUTO_TEST_CASE(short_shortages_in_a_row_log_at_most_two_lines_per_interval) {
  // Accepting works for one connection at a time (a connection closes, one is accepted, the
  // next accept fails again): pause and recovery alternate.
  AcceptPauses pauses(100ms, 10s);
  const Clock::time_point t0 = Clock::now();
  int lines = 0;
  for (int i = 0; i < 99; ++i) {
    lines += pauses.paused(t0 + i * 100ms, "4 worker_connections are not enough", false) ? 1 : 0;
    lines += pauses.accepted(t0 + i * 100ms + 50ms, "127.0.0.1:80") ? 1 : 0;
  }
  BOOST_TEST(lines == 2);  // the first pause and its end
  const auto later = pauses.paused(t0 + 10s, "4 worker_connections are not enough", false);
  BOOST_TEST_REQUIRE(later.has_value());
  BOOST_TEST(!later->severe);
  BOOST_TEST(later->text.find("(98 more pauses since the last such line 10s ago)") !=
             std::string::npos);
  const auto again = pauses.accepted(t0 + 10050ms, "127.0.0.1:80");
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->text == "accepting again on 127.0.0.1:80 after 1 pause over 50ms");
}

BOOST_AUTO_TEST_CASE(a_new_shortage_after_a_quiet_interval_is_logged_at_once) {
  AcceptPauses pauses(100ms, 10s);
  const Clock::time_point t0 = Clock::now();
  BOOST_TEST(pauses.paused(t0, kWhat, true).has_value());
  BOOST_TEST(pauses.accepted(t0 + 1s, "127.0.0.1:80").has_value());
  const auto next = pauses.paused(t0 + 60s, kWhat, true);
  BOOST_TEST_REQUIRE(next.has_value());
  BOOST_TEST(next->text == std::string(kWhat) + "; pausing accept, retrying every 100ms");
}

BOOST_AUTO_TEST_SUITE_END()
