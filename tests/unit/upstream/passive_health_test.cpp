#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;
using namespace std::chrono_literals;

namespace {

// Two servers; `a` has the given max_fails and a 10s fail_timeout.
UpstreamGroup group_with(int max_fails) {
  return UpstreamGroup(make_upstream("round_robin", {{.max_fails = max_fails}, {}}), 1);
}

// Whether `a` gets any of 20 requests at `now` (each released at once).
bool a_is_used(UpstreamGroup& g, Clock::time_point now) {
  return pick_sequence(g, 20, at(now)).find('a') != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upstream_passive_health)

BOOST_AUTO_TEST_CASE(max_fails_within_fail_timeout_mark_a_server_down_for_fail_timeout) {
  UpstreamGroup g = group_with(3);
  UpstreamPeer& a = g.peer(0);
  BOOST_TEST(!g.report_failure(a, kT0));
  BOOST_TEST(!g.report_failure(a, kT0 + 4s));
  BOOST_TEST(a_is_used(g, kT0 + 5s));
  BOOST_TEST(g.report_failure(a, kT0 + 9s));  // the third within 10s: down, log it
  BOOST_TEST(!a_is_used(g, kT0 + 9s));
  BOOST_TEST(!a_is_used(g, kT0 + 18999ms));
  BOOST_TEST(a_is_used(g, kT0 + 19s));  // fail_timeout after the failure that marked it down
}

BOOST_AUTO_TEST_CASE(failures_spread_over_more_than_fail_timeout_do_not) {
  UpstreamGroup g = group_with(3);
  UpstreamPeer& a = g.peer(0);
  // One failure every 6s for a minute: never three within 10s.
  for (int i = 0; i < 10; ++i) {
    const auto t = kT0 + std::chrono::seconds(6 * i);
    BOOST_TEST(!g.report_failure(a, t), "failure at " << 6 * i << "s");
    BOOST_TEST(a_is_used(g, t));
  }
  // The last window opened at 48s and holds two failures (48s, 54s): a third before 58s is
  // max_fails within fail_timeout.
  BOOST_TEST(g.report_failure(a, kT0 + 55s));
  BOOST_TEST(!a_is_used(g, kT0 + 55s));
}

BOOST_AUTO_TEST_CASE(the_only_server_of_a_group_is_never_marked_down) {
  UpstreamGroup g(make_upstream("round_robin", {{.max_fails = 1}}), 1);
  UpstreamPeer& a = g.peer(0);
  BOOST_TEST(!g.report_failure(a, kT0));
  BOOST_TEST(!g.report_failure(a, kT0 + 1s));
  BOOST_TEST(g.pick(at(kT0 + 2s)) == &a);
  // Tried already for this request, or down by the active health checks: nothing to pick.
  PickContext tried = at(kT0 + 2s);
  tried.mark_tried(0);
  BOOST_TEST(g.pick(tried) == nullptr);
  BOOST_TEST(g.set_health(0, false));
  BOOST_TEST(g.pick(at(kT0 + 2s)) == nullptr);
}

BOOST_AUTO_TEST_CASE(max_fails_0_never_marks_a_server_down) {
  UpstreamGroup g = group_with(0);
  for (int i = 0; i < 100; ++i) BOOST_TEST(!g.report_failure(g.peer(0), kT0 + 1ms * i));
  BOOST_TEST(a_is_used(g, kT0 + 100ms));
}

BOOST_AUTO_TEST_CASE(a_success_resets_the_failure_count) {
  UpstreamGroup g = group_with(3);
  UpstreamPeer& a = g.peer(0);
  BOOST_TEST(!g.report_failure(a, kT0));
  BOOST_TEST(!g.report_failure(a, kT0 + 1s));
  g.report_success(a);
  BOOST_TEST(!g.report_failure(a, kT0 + 2s));
  BOOST_TEST(!g.report_failure(a, kT0 + 3s));
  BOOST_TEST(a_is_used(g, kT0 + 3s));
  BOOST_TEST(g.report_failure(a, kT0 + 4s));
  BOOST_TEST(!a_is_used(g, kT0 + 4s));
}

BOOST_AUTO_TEST_CASE(only_the_failure_that_marks_it_down_reports_it) {
  UpstreamGroup g = group_with(1);
  UpstreamPeer& a = g.peer(0);
  BOOST_TEST(g.report_failure(a, kT0));
  // Requests that were already in flight on it fail too: no repeated log line, no extension.
  BOOST_TEST(!g.report_failure(a, kT0 + 1s));
  BOOST_TEST(!g.report_failure(a, kT0 + 2s));
  // A request that started before it went down succeeding does not bring it back early.
  g.report_success(a);
  BOOST_TEST(!a_is_used(g, kT0 + 9s));
  BOOST_TEST(a_is_used(g, kT0 + 10s));
}

BOOST_AUTO_TEST_CASE(after_fail_timeout_a_single_trial_request_decides) {
  UpstreamGroup g = group_with(3);
  UpstreamPeer& a = g.peer(0);
  for (int i = 0; i < 3; ++i) g.report_failure(a, kT0);
  // Back after 10s, but a dead server must not get a flood: exactly one request tries it.
  const std::string seq = pick_sequence(g, 20, at(kT0 + 10s));
  BOOST_TEST(std::count(seq.begin(), seq.end(), 'a') == 1);
  BOOST_TEST(a.probing);
  // The trial fails: down again at once (one failure, not max_fails), for another 10s.
  BOOST_TEST(g.report_failure(a, kT0 + 11s));
  BOOST_TEST(!a_is_used(g, kT0 + 20s));
  // The next trial succeeds: fully back in rotation.
  const std::string seq2 = pick_sequence(g, 20, at(kT0 + 21s));
  BOOST_TEST(std::count(seq2.begin(), seq2.end(), 'a') == 1);
  g.report_success(a);
  const std::string seq3 = pick_sequence(g, 20, at(kT0 + 21s));
  BOOST_TEST(std::count(seq3.begin(), seq3.end(), 'a') == 10);
  // And it needs max_fails failures again to go down.
  BOOST_TEST(!g.report_failure(a, kT0 + 22s));
  BOOST_TEST(a_is_used(g, kT0 + 22s));
}

BOOST_AUTO_TEST_CASE(a_trial_that_never_reports_does_not_keep_the_server_out_forever) {
  UpstreamGroup g = group_with(1);
  UpstreamPeer& a = g.peer(0);
  g.report_failure(a, kT0);
  BOOST_TEST(a_is_used(g, kT0 + 10s));  // the trial, lost (the client went away, say)
  BOOST_TEST(!a_is_used(g, kT0 + 15s));
  BOOST_TEST(a_is_used(g, kT0 + 20s));  // another trial
}

BOOST_AUTO_TEST_SUITE_END()
