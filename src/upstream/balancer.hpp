#pragma once
// Load-balancing methods. A balancer serves one tier of a group (its primary peers, or its
// backup peers) and picks only usable peers (peer_usable); the group decides between tiers and
// keeps the health bookkeeping. Picking never allocates or throws: all state is sized when the
// balancer is built.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "upstream/upstream_peer.hpp"

namespace serverd {

// Peers of one tier, in group order. They are owned by the group and outlive the balancer.
using PeerTier = std::vector<UpstreamPeer*>;

class Balancer {
 public:
  Balancer() = default;
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;
  virtual ~Balancer() = default;

  // A usable peer of the tier for this request, nullptr when none is.
  virtual UpstreamPeer* pick(const PickContext& ctx) noexcept = 0;
};

// `kind` is UpstreamConfig::balance (round_robin|least_conn|ip_hash|hash|random); an unknown
// kind is a programming error (the loader validates it) and throws std::invalid_argument.
// `seed` feeds the random balancer only.
std::unique_ptr<Balancer> make_balancer(std::string_view kind, PeerTier tier, std::uint64_t seed);

std::unique_ptr<Balancer> make_round_robin_balancer(PeerTier tier);
std::unique_ptr<Balancer> make_least_conn_balancer(PeerTier tier);
std::unique_ptr<Balancer> make_ip_hash_balancer(PeerTier tier);
std::unique_ptr<Balancer> make_consistent_hash_balancer(PeerTier tier);
std::unique_ptr<Balancer> make_random_balancer(PeerTier tier, std::uint64_t seed);

}  // namespace serverd
