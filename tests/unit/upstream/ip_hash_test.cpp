#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;

namespace {

// Client addresses in `n` distinct /24 networks: 10.x.y.7.
std::vector<std::string> clients(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".7");
  return out;
}

const UpstreamPeer* pick_for(UpstreamGroup& g, const std::string& client) {
  return g.pick(at(kT0, client));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upstream_ip_hash)

BOOST_AUTO_TEST_CASE(a_client_always_reaches_the_same_server) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1, 1})), 1);
  const auto all = clients(500);
  std::vector<const UpstreamPeer*> first;
  for (const auto& c : all) first.push_back(pick_for(g, c));
  // Again, interleaved differently: other clients' requests do not move anyone.
  for (int round = 0; round < 3; ++round)
    for (std::size_t i = all.size(); i-- > 0;) BOOST_TEST(pick_for(g, all[i]) == first[i]);
  // Another worker (another group, another seed) sends the client to the same server.
  UpstreamGroup other(make_upstream("ip_hash", weights({1, 1, 1, 1})), 99);
  for (std::size_t i = 0; i < all.size(); ++i)
    BOOST_TEST(pick_for(other, all[i])->index == first[i]->index);
}

BOOST_AUTO_TEST_CASE(ipv4_clients_of_one_24_network_share_a_server_ipv6_ones_do_not) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1, 1})), 1);
  std::set<std::size_t> v4;
  std::set<std::size_t> v6;
  for (int host = 0; host < 256; ++host) {
    v4.insert(pick_for(g, "192.168.1." + std::to_string(host))->index);
    v6.insert(pick_for(g, "2001:db8::" + std::to_string(host))->index);
  }
  BOOST_TEST(v4.size() == 1u);
  BOOST_TEST(v6.size() == 4u);  // the whole IPv6 address counts
}

BOOST_AUTO_TEST_CASE(ipv4_mapped_and_bracketed_forms_are_the_same_client) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1, 1, 1, 1, 1})), 1);
  for (const auto& c : clients(100)) {
    const UpstreamPeer* p = pick_for(g, c);
    BOOST_TEST(pick_for(g, "::ffff:" + c) == p, c);
    BOOST_TEST(pick_for(g, "[::ffff:" + c + "]") == p, c);
  }
  BOOST_TEST(pick_for(g, "[2001:db8::5]") == pick_for(g, "2001:db8::5"));
}

BOOST_AUTO_TEST_CASE(clients_spread_over_the_servers_by_weight) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1, 1})), 1);
  const auto all = clients(8000);
  std::vector<std::size_t> counts(4, 0);
  for (const auto& c : all) ++counts[pick_for(g, c)->index];
  for (std::size_t n : counts) BOOST_TEST((n > 1800 && n < 2200), n << " of 8000");

  UpstreamGroup w(make_upstream("ip_hash", weights({1, 3})), 1);
  std::size_t heavy = 0;
  for (const auto& c : all) heavy += pick_for(w, c)->index;
  BOOST_TEST((heavy > 5800 && heavy < 6200), heavy << " of 8000 on the weight-3 server");
}

BOOST_AUTO_TEST_CASE(only_the_clients_of_a_down_server_move_and_they_come_back) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1, 1})), 1);
  const auto all = clients(2000);
  std::vector<std::size_t> home;
  for (const auto& c : all) home.push_back(pick_for(g, c)->index);

  g.set_health(2, false);
  std::vector<std::size_t> moved_to(4, 0);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t now_on = pick_for(g, all[i])->index;
    if (home[i] == 2) {
      BOOST_TEST(now_on != 2u);
      ++moved_to[now_on];
    } else {
      BOOST_TEST(now_on == home[i]);
    }
  }
  // The displaced clients are rehashed over all the others, not dumped on one neighbour.
  for (std::size_t s : {0, 1, 3}) BOOST_TEST(moved_to[s] > 100u, "server " << s);

  g.set_health(2, true);
  for (std::size_t i = 0; i < all.size(); ++i) BOOST_TEST(pick_for(g, all[i])->index == home[i]);
}

BOOST_AUTO_TEST_CASE(a_retry_goes_elsewhere_and_ends_when_all_were_tried) {
  UpstreamGroup g(make_upstream("ip_hash", weights({1, 1, 1})), 1);
  PickContext ctx = at(kT0, "10.0.0.1");
  std::set<std::size_t> seen;
  for (int attempt = 0; attempt < 3; ++attempt) {
    UpstreamPeer* p = g.pick(ctx);
    BOOST_REQUIRE(p != nullptr);
    BOOST_TEST(seen.insert(p->index).second);
    ctx.mark_tried(p->index);
  }
  BOOST_TEST(g.pick(ctx) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
