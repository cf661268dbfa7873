#include <boost/test/unit_test.hpp>
#include <vector>

#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;

namespace {

void set_active(UpstreamGroup& g, const std::vector<int>& active) {
  for (std::size_t i = 0; i < active.size(); ++i) g.peer(i).active = active[i];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upstream_least_conn)

BOOST_AUTO_TEST_CASE(picks_the_server_with_the_fewest_requests_in_flight) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 1, 1})), 1);
  set_active(g, {3, 1, 2});
  BOOST_TEST(letter(g.pick(at(kT0))) == 'b');
  set_active(g, {3, 4, 2});
  BOOST_TEST(letter(g.pick(at(kT0))) == 'c');
}

BOOST_AUTO_TEST_CASE(load_is_measured_per_unit_of_weight) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 3})), 1);
  set_active(g, {1, 2});  // 1/1 against 2/3: b is less loaded although it has more requests
  BOOST_TEST(letter(g.pick(at(kT0))) == 'b');
  set_active(g, {1, 4});  // 1/1 against 4/3
  BOOST_TEST(letter(g.pick(at(kT0))) == 'a');
}

BOOST_AUTO_TEST_CASE(requests_in_flight_follow_the_weights) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 3, 2})), 1);
  for (int i = 0; i < 600; ++i) g.acquire(*g.pick(at(kT0)));
  BOOST_TEST(g.peer(0).active == 100);
  BOOST_TEST(g.peer(1).active == 300);
  BOOST_TEST(g.peer(2).active == 200);
}

BOOST_AUTO_TEST_CASE(an_idle_group_is_spread_by_smooth_round_robin) {
  UpstreamGroup g(make_upstream("least_conn", weights({5, 1, 1})), 1);
  BOOST_TEST(pick_sequence(g, 7, at(kT0)) == "aabacaa");
}

BOOST_AUTO_TEST_CASE(ties_rotate_among_the_tied_only) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 1, 1})), 1);
  set_active(g, {2, 0, 0});
  BOOST_TEST(pick_sequence(g, 6, at(kT0)) == "bcbcbc");
}

BOOST_AUTO_TEST_CASE(released_requests_make_a_server_eligible_again) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 1})), 1);
  UpstreamPeer* first = g.pick(at(kT0));
  g.acquire(*first);
  UpstreamPeer* second = g.pick(at(kT0));
  BOOST_TEST(second != first);
  g.acquire(*second);
  g.acquire(*second);
  BOOST_TEST(g.pick(at(kT0)) == first);
  g.release(*second);
  g.release(*second);
  BOOST_TEST(g.pick(at(kT0)) == second);
}

BOOST_AUTO_TEST_CASE(the_least_loaded_server_is_skipped_when_down) {
  UpstreamGroup g(make_upstream("least_conn", weights({1, 1, 1})), 1);
  set_active(g, {5, 0, 7});
  g.set_health(1, false);
  BOOST_TEST(letter(g.pick(at(kT0))) == 'a');
}

BOOST_AUTO_TEST_SUITE_END()
