#include <boost/test/unit_test.hpp>
#include <vector>

#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;

BOOST_AUTO_TEST_SUITE(upstream_random)

BOOST_AUTO_TEST_CASE(an_idle_group_is_spread_by_weight) {
  UpstreamGroup g(make_upstream("random", weights({1, 2, 3, 4})), 42);
  constexpr std::size_t n = 100000;
  const auto counts = pick_counts(g, n, at(kT0));
  for (std::size_t i = 0; i < 4; ++i) {
    const double share = static_cast<double>(counts[i]) / n;
    const double expected = static_cast<double>(i + 1) / 10;
    BOOST_TEST(share == expected, boost::test_tools::tolerance(0.05));  // relative
  }
}

BOOST_AUTO_TEST_CASE(of_two_random_choices_the_less_loaded_wins) {
  UpstreamGroup g(make_upstream("random", weights({1, 1, 1})), 7);
  g.peer(0).active = 5;
  // Two distinct servers are always compared, so the loaded one never wins against an idle one.
  const auto counts = pick_counts(g, 3000, at(kT0));
  BOOST_TEST(counts[0] == 0u);
  BOOST_TEST(counts[1] > 1200u);
  BOOST_TEST(counts[2] > 1200u);
}

BOOST_AUTO_TEST_CASE(load_is_compared_per_unit_of_weight) {
  UpstreamGroup g(make_upstream("random", weights({1, 4})), 7);
  g.peer(0).active = 1;
  g.peer(1).active = 3;  // 3/4 < 1/1: the heavier server is still the less loaded
  const auto counts = pick_counts(g, 500, at(kT0));
  BOOST_TEST(counts[1] == 500u);
}

BOOST_AUTO_TEST_CASE(in_flight_requests_stay_balanced) {
  UpstreamGroup g(make_upstream("random", weights({1, 1, 1, 1})), 3);
  for (int i = 0; i < 4000; ++i) g.acquire(*g.pick(at(kT0)));
  // Single random draws would leave each server about 27 requests (one standard deviation) off
  // 1000; comparing two choices keeps every server within a few.
  for (std::size_t i = 0; i < 4; ++i)
    BOOST_TEST((g.peer(i).active > 990 && g.peer(i).active < 1010), g.peer(i).active);
}

BOOST_AUTO_TEST_CASE(down_servers_are_never_picked) {
  UpstreamGroup g(make_upstream("random", weights({10, 1, 10})), 5);
  g.set_health(0, false);
  g.set_health(2, false);
  const auto counts = pick_counts(g, 1000, at(kT0));
  BOOST_TEST(counts[1] == 1000u);
  g.set_health(1, false);
  BOOST_TEST(g.pick(at(kT0)) == nullptr);
}

BOOST_AUTO_TEST_CASE(workers_seeded_differently_draw_differently) {
  UpstreamGroup a(make_upstream("random", weights({1, 1, 1, 1})), 1);
  UpstreamGroup b(make_upstream("random", weights({1, 1, 1, 1})), 2);
  UpstreamGroup a_again(make_upstream("random", weights({1, 1, 1, 1})), 1);
  const auto seq_a = pick_sequence(a, 64, at(kT0));
  // Otherwise every worker would send its first requests to the same server after a reload.
  BOOST_TEST(pick_sequence(b, 64, at(kT0)) != seq_a);
  BOOST_TEST(pick_sequence(a_again, 64, at(kT0)) == seq_a);
}

BOOST_AUTO_TEST_SUITE_END()
