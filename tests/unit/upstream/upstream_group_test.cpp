#include "upstream/upstream_group.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "upstream_test_support.hpp"

using namespace serverd;
using namespace serverd::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kBalancers{"round_robin", "least_conn", "ip_hash", "hash", "random"};

// a, b primaries; c, d backups.
UpstreamConfig with_backups(const std::string& balance) {
  return make_upstream(balance, {{}, {}, {.backup = true}, {.backup = true}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(upstream_group)

BOOST_AUTO_TEST_CASE(peers_mirror_the_configured_servers) {
  UpstreamGroup g(make_upstream("round_robin", weights({2, 1})), 1);
  BOOST_TEST(g.size() == 2u);
  BOOST_TEST(g.config().name == "app");
  for (std::size_t i = 0; i < g.size(); ++i) {
    BOOST_TEST(g.peer(i).index == i);
    BOOST_TEST(g.peer(i).config->address_text == address_of(i));
    BOOST_TEST(g.peer(i).config == &g.config().servers[i]);
  }
}

BOOST_AUTO_TEST_CASE(backups_serve_only_while_every_primary_is_down) {
  for (const auto& balance : kBalancers) {
    BOOST_TEST_CONTEXT("balance = " << balance) {
      UpstreamGroup g(with_backups(balance), 1);
      std::set<char> used;
      for (char c : pick_sequence(g, 50, at(kT0, "/k"))) used.insert(c);
      for (int client = 0; client < 50; ++client) {
        const std::string key = "10.0." + std::to_string(client) + ".1";
        used.insert(letter(g.pick(at(kT0, key))));
      }
      BOOST_TEST((used == std::set<char>{'a', 'b'}));

      g.report_failure(g.peer(0), kT0);  // passive: down until +10s
      g.set_health(1, false);            // active
      used.clear();
      for (char c : pick_sequence(g, 50, at(kT0 + 1s, "/k"))) used.insert(c);
      BOOST_TEST(!used.count('a'));
      BOOST_TEST(!used.count('b'));
      BOOST_TEST(!used.count('-'));

      g.set_health(1, true);
      used.clear();
      for (char c : pick_sequence(g, 50, at(kT0 + 1s, "/k"))) used.insert(c);
      BOOST_TEST((used == std::set<char>{'b'}));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_retry_goes_to_a_backup_once_every_primary_was_tried) {
  UpstreamGroup g(with_backups("round_robin"), 1);
  PickContext ctx = at(kT0);
  std::string attempts;
  for (UpstreamPeer* p = g.pick(ctx); p != nullptr; p = g.pick(ctx)) {
    attempts += letter(p);
    ctx.mark_tried(p->index);
  }
  // Both primaries first, then both backups, then nothing left: 502.
  BOOST_TEST(attempts.size() == 4u);
  BOOST_TEST((std::set<char>(attempts.begin(), attempts.begin() + 2) == std::set<char>{'a', 'b'}));
  BOOST_TEST((std::set<char>(attempts.begin() + 2, attempts.end()) == std::set<char>{'c', 'd'}));
}

BOOST_AUTO_TEST_CASE(tried_peers_are_never_picked_again_for_the_same_request) {
  for (const auto& balance : kBalancers) {
    BOOST_TEST_CONTEXT("balance = " << balance) {
      UpstreamGroup g(make_upstream(balance, weights({5, 1, 1, 1})), 1);
      PickContext ctx = at(kT0, "10.1.2.3");
      std::set<std::size_t> tried;
      for (int attempt = 0; attempt < 4; ++attempt) {
        UpstreamPeer* p = g.pick(ctx);
        BOOST_REQUIRE(p != nullptr);
        BOOST_TEST(tried.insert(p->index).second, "peer " << p->index << " picked twice");
        ctx.mark_tried(p->index);
      }
      BOOST_TEST(g.pick(ctx) == nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(nothing_usable_gives_no_peer) {
  for (const auto& balance : kBalancers) {
    BOOST_TEST_CONTEXT("balance = " << balance) {
      UpstreamGroup g(with_backups(balance), 1);
      g.report_failure(g.peer(0), kT0);
      g.report_failure(g.peer(1), kT0);
      g.set_health(2, false);
      g.report_failure(g.peer(3), kT0);
      BOOST_TEST(g.pick(at(kT0 + 1s, "k")) == nullptr);
      BOOST_TEST(g.pick(at(kT0 + 9s, "k")) == nullptr);
      BOOST_TEST(g.pick(at(kT0 + 10s, "k")) != nullptr);  // passive downs expire
    }
  }
}

BOOST_AUTO_TEST_CASE(set_health_reports_changes_only) {
  UpstreamGroup g(make_upstream("round_robin", weights({1, 1})), 1);
  BOOST_TEST(!g.set_health(0, true));  // already up
  BOOST_TEST(g.set_health(0, false));
  BOOST_TEST(!g.set_health(0, false));
  BOOST_TEST(g.peer(0).health_down);
  BOOST_TEST(g.set_health(0, true));
  BOOST_TEST(!g.set_health(2, false));  // a broadcast for a larger, older config
}

BOOST_AUTO_TEST_CASE(acquire_and_release_count_requests_in_flight) {
  UpstreamGroup g(make_upstream("least_conn", weights({1})), 1);
  UpstreamPeer& a = g.peer(0);
  g.acquire(a);
  g.acquire(a);
  BOOST_TEST(a.active == 2);
  g.release(a);
  g.release(a);
  g.release(a);  // one release too many must not make the server look negatively loaded
  BOOST_TEST(a.active == 0);
}

BOOST_AUTO_TEST_CASE(a_group_outlives_its_config_and_survives_being_moved) {
  std::vector<UpstreamGroup> groups;
  for (int i = 0; i < 8; ++i) {  // the vector reallocates, moving the groups
    UpstreamConfig c = make_upstream("hash", weights({1, 1, 1}));
    groups.emplace_back(c, static_cast<std::uint64_t>(i));
  }  // each config is destroyed here; a reload drops the old Config the same way
  for (auto& g : groups) {
    UpstreamPeer* p = g.pick(at(kT0, "/a"));
    BOOST_REQUIRE(p != nullptr);
    BOOST_TEST(p == &g.peer(p->index));
    BOOST_TEST(p->config->address_text == address_of(p->index));
    BOOST_TEST(g.pick(at(kT0, "/a")) == p);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_balance_method_is_rejected_at_construction) {
  BOOST_CHECK_THROW(UpstreamGroup(make_upstream("fastest", weights({1})), 1),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
