#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "upstream/stable_hash.hpp"
#include "upstream/upstream_group.hpp"
#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;

namespace {

std::vector<std::string> keys(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("/images/" + std::to_string(i) + ".jpg");
  return out;
}

// The address of the server each key goes to: addresses, not indexes, so that groups built from
// different server lists can be compared.
std::vector<std::string> placement(UpstreamGroup& g, const std::vector<std::string>& ks) {
  std::vector<std::string> out;
  for (const auto& k : ks) {
    const UpstreamPeer* p = g.pick(at(kT0, k));
    out.push_back(p == nullptr ? "-" : p->config->address_text);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upstream_consistent_hash)

BOOST_AUTO_TEST_CASE(the_hash_is_fnv1a_and_does_not_depend_on_the_build) {
  // Published FNV-1a 64 test vectors: every worker, every build, places a key identically.
  BOOST_TEST(fnv1a64("") == 0xcbf29ce484222325ULL);
  BOOST_TEST(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  BOOST_TEST(fnv1a64("foobar") == 0x85944171f73967e8ULL);
  static_assert(stable_hash("/x") == mix64(fnv1a64("/x")));
}

BOOST_AUTO_TEST_CASE(a_key_always_reaches_the_same_server_in_every_worker) {
  const auto ks = keys(2000);
  UpstreamGroup a(make_upstream("hash", weights({1, 1, 1, 1, 1})), 1);
  UpstreamGroup b(make_upstream("hash", weights({1, 1, 1, 1, 1})), 2);
  const auto first = placement(a, ks);
  BOOST_TEST(placement(a, ks) == first);
  BOOST_TEST(placement(b, ks) == first);
}

BOOST_AUTO_TEST_CASE(keys_spread_evenly_and_by_weight) {
  const auto ks = keys(10000);
  UpstreamGroup g(make_upstream("hash", weights({1, 1, 1, 1, 1})), 1);
  std::vector<std::size_t> counts(5, 0);
  for (const auto& k : ks) ++counts[g.pick(at(kT0, k))->index];
  for (std::size_t n : counts) BOOST_TEST((n > 1500 && n < 2500), n << " of 10000");

  UpstreamGroup w(make_upstream("hash", weights({1, 3})), 1);
  std::size_t heavy = 0;
  for (const auto& k : ks) heavy += w.pick(at(kT0, k))->index;
  BOOST_TEST((heavy > 7000 && heavy < 8000), heavy << " of 10000 on the weight-3 server");
}

BOOST_AUTO_TEST_CASE(a_down_server_moves_only_its_own_keys_spread_over_the_others) {
  const auto ks = keys(10000);
  UpstreamGroup g(make_upstream("hash", weights({1, 1, 1, 1, 1})), 1);
  std::vector<std::size_t> before;
  for (const auto& k : ks) before.push_back(g.pick(at(kT0, k))->index);

  for (std::size_t down : {std::size_t{0}, std::size_t{3}}) {
    g.set_health(down, false);
    std::vector<std::size_t> moved_to(5, 0);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < ks.size(); ++i) {
      const std::size_t now_on = g.pick(at(kT0, ks[i]))->index;
      if (before[i] == down) {
        BOOST_TEST(now_on != down);
        ++moved_to[now_on];
        ++moved;
      } else {
        BOOST_TEST(now_on == before[i], "key " << ks[i] << " moved although its server is up");
      }
    }
    for (std::size_t s = 0; s < 5; ++s) {
      if (s == down) continue;
      // Each of the 4 survivors takes a fair share (25%) of the orphans, none all of them.
      BOOST_TEST((moved_to[s] * 100 > moved * 12 && moved_to[s] * 100 < moved * 40),
                 "server " << s << " got " << moved_to[s] << " of " << moved);
    }
    g.set_health(down, true);
    for (std::size_t i = 0; i < ks.size(); ++i)
      BOOST_TEST(g.pick(at(kT0, ks[i]))->index == before[i]);
  }
}

BOOST_AUTO_TEST_CASE(removing_a_server_from_the_config_moves_only_its_keys) {
  const auto ks = keys(10000);
  UpstreamGroup five(make_upstream("hash", weights({1, 1, 1, 1, 1})), 1);
  UpstreamConfig four_config = make_upstream("hash", weights({1, 1, 1, 1, 1}));
  const std::string removed = four_config.servers[2].address_text;
  four_config.servers.erase(four_config.servers.begin() + 2);  // a reload without it
  UpstreamGroup four(four_config, 1);
  const auto before = placement(five, ks);
  const auto after = placement(four, ks);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    if (before[i] == removed) {
      ++moved;
      BOOST_TEST(after[i] != removed);
    } else {
      BOOST_TEST(after[i] == before[i]);
    }
  }
  BOOST_TEST(moved > 1000u);  // it did hold keys, so the test moved something
}

BOOST_AUTO_TEST_CASE(retries_walk_the_ring_and_stop_when_all_were_tried) {
  UpstreamGroup g(make_upstream("hash", weights({1, 1, 1})), 1);
  PickContext ctx = at(kT0, "/retry");
  std::vector<std::size_t> order;
  for (int attempt = 0; attempt < 3; ++attempt) {
    UpstreamPeer* p = g.pick(ctx);
    BOOST_REQUIRE(p != nullptr);
    order.push_back(p->index);
    ctx.mark_tried(p->index);
  }
  BOOST_TEST((order[0] != order[1] && order[1] != order[2] && order[0] != order[2]));
  BOOST_TEST(g.pick(ctx) == nullptr);
  // The walk is deterministic: a second request with the same key retries in the same order.
  PickContext again = at(kT0, "/retry");
  for (std::size_t idx : order) {
    BOOST_TEST(g.pick(again)->index == idx);
    again.mark_tried(idx);
  }
}

BOOST_AUTO_TEST_CASE(duplicate_addresses_each_get_their_share) {
  UpstreamConfig up = make_upstream("hash", weights({1, 1}));
  up.servers[1] = up.servers[0];  // the same backend listed twice: twice its share
  UpstreamGroup g(up, 1);
  std::vector<std::size_t> counts(2, 0);
  for (const auto& k : keys(4000)) ++counts[g.pick(at(kT0, k))->index];
  BOOST_TEST((counts[1] > 1500 && counts[1] < 2500), counts[1] << " of 4000");
}

BOOST_AUTO_TEST_SUITE_END()
