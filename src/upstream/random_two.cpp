// balance = "random": "power of two random choices". Two distinct peers are drawn at random,
// each with probability proportional to its weight, and the one with fewer requests in flight
// per unit of weight gets the request. It spreads like least_conn without every worker piling
// onto the same momentarily least-loaded server, which is what happens when many workers each
// run least_conn on their own partial view.
#include <cstdint>

#include "upstream/balancer.hpp"
#include "upstream/weight_ranges.hpp"

namespace serverd {
namespace {

constexpr int kMaxDraws = 20;  // draws among all peers before drawing among the usable ones only

// SplitMix64: small state, good enough statistics for load balancing, identical everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n): n is at most 1000 * servers, so the modulo bias is ~2^-40.
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

class RandomTwoBalancer final : public Balancer {
 public:
  RandomTwoBalancer(PeerTier tier, std::uint64_t seed)
      : tier_(std::move(tier)), ranges_(tier_), rng_(seed) {}

  UpstreamPeer* pick(const PickContext& ctx) noexcept override {
    UpstreamPeer* first = draw(ctx, nullptr);
    if (first == nullptr) return nullptr;
    UpstreamPeer* second = draw(ctx, first);
    if (second == nullptr) return first;
    // Fewer in flight per unit of weight wins; a tie keeps the first draw, so an idle group is
    // spread exactly by weight.
    const std::int64_t c = std::int64_t{second->active} * first->weight() -
                           std::int64_t{first->active} * second->weight();
    return c < 0 ? second : first;
  }

 private:
  // A weighted draw among the usable peers other than `except`. Draws among all peers first
  // (O(log n), the common case when most are up), then draws among the eligible ones directly.
  UpstreamPeer* draw(const PickContext& ctx, const UpstreamPeer* except) {
    if (ranges_.total() == 0) return nullptr;
    for (int attempt = 0; attempt < kMaxDraws; ++attempt) {
      UpstreamPeer* p = tier_[ranges_.position(rng_.below(ranges_.total()))];
      if (p != except && peer_usable(*p, ctx)) return p;
    }
    std::uint64_t total = 0;
    for (const UpstreamPeer* p : tier_)
      if (p != except && peer_usable(*p, ctx)) total += static_cast<std::uint64_t>(p->weight());
    if (total == 0) return nullptr;
    std::uint64_t x = rng_.below(total);
    for (UpstreamPeer* p : tier_) {
      if (p == except || !peer_usable(*p, ctx)) continue;
      const auto w = static_cast<std::uint64_t>(p->weight());
      if (x < w) return p;
      x -= w;
    }
    return nullptr;  // unreachable: x < total
  }

  PeerTier tier_;
  WeightRanges ranges_;
  SplitMix64 rng_;
};

}  // namespace

std::unique_ptr<Balancer> make_random_balancer(PeerTier tier, std::uint64_t seed) {
  return std::make_unique<RandomTwoBalancer>(std::move(tier), seed);
}

}  // namespace serverd
