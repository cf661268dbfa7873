#include <boost/test/unit_test.hpp>
#include <vector>

#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;

BOOST_AUTO_TEST_SUITE(upstream_round_robin)

BOOST_AUTO_TEST_CASE(weights_5_1_1_interleave_as_nginx_does) {
  UpstreamGroup g(make_upstream("round_robin", weights({5, 1, 1})), 1);
  // Smooth: the heavy server's requests are interleaved with the others', cycle after cycle.
  BOOST_TEST(pick_sequence(g, 14, at(kT0)) == "aabacaaaabacaa");
}

BOOST_AUTO_TEST_CASE(equal_weights_rotate_in_order) {
  UpstreamGroup g(make_upstream("round_robin", weights({1, 1, 1})), 1);
  BOOST_TEST(pick_sequence(g, 7, at(kT0)) == "abcabca");
}

BOOST_AUTO_TEST_CASE(exact_proportions_over_7000_picks) {
  UpstreamGroup g(make_upstream("round_robin", weights({5, 1, 1})), 1);
  BOOST_TEST(pick_counts(g, 7000, at(kT0)) == (std::vector<std::size_t>{5000, 1000, 1000}),
             boost::test_tools::per_element());

  UpstreamGroup h(make_upstream("round_robin", weights({4, 2, 1})), 1);
  BOOST_TEST(pick_counts(h, 7000, at(kT0)) == (std::vector<std::size_t>{4000, 2000, 1000}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_down_server_is_skipped_and_the_rest_keep_their_weights) {
  UpstreamGroup g(make_upstream("round_robin", weights({1, 3, 1, 1})), 1);
  BOOST_TEST(g.set_health(0, false));
  BOOST_TEST(pick_counts(g, 5000, at(kT0)) == (std::vector<std::size_t>{0, 3000, 1000, 1000}),
             boost::test_tools::per_element());
  BOOST_TEST(g.set_health(0, true));
  BOOST_TEST(pick_counts(g, 6000, at(kT0)) == (std::vector<std::size_t>{1000, 3000, 1000, 1000}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
