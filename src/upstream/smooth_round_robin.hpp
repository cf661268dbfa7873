#pragma once
// nginx's smooth weighted round robin: every pick adds each candidate's weight to its running
// "current weight", takes the candidate with the largest one and subtracts the candidates'
// total from it. Weights 5,1,1 give a a b a c a a: proportional to the weights and interleaved
// rather than in bursts (a a a a a b c), so no server sees a burst of consecutive requests.
// Used directly by round_robin and as the tie-breaker or fallback of the other methods.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "upstream/balancer.hpp"

namespace serverd {

class SmoothRoundRobin {
 public:
  explicit SmoothRoundRobin(PeerTier tier) : tier_(std::move(tier)), current_(tier_.size(), 0) {}

  const PeerTier& tier() const { return tier_; }

  UpstreamPeer* pick(const PickContext& ctx) noexcept {
    return pick_if(ctx, [](const UpstreamPeer&) { return true; });
  }

  // Round robin among the usable peers for which `eligible(peer)` holds; the others keep their
  // current weight untouched, as in nginx (least_conn breaks ties this way).
  template <typename Eligible>
  UpstreamPeer* pick_if(const PickContext& ctx, Eligible&& eligible) noexcept {
    std::int64_t total = 0;
    std::size_t best = kNone;
    for (std::size_t i = 0; i < tier_.size(); ++i) {
      const UpstreamPeer& p = *tier_[i];
      if (!peer_usable(p, ctx) || !eligible(p)) continue;
      current_[i] += p.weight();
      total += p.weight();
      if (best == kNone || current_[i] > current_[best]) best = i;
    }
    if (best == kNone) return nullptr;
    current_[best] -= total;
    return tier_[best];
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  PeerTier tier_;
  std::vector<std::int64_t> current_;  // parallel to tier_
};

}  // namespace serverd
