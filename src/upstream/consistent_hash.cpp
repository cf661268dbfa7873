// balance = "hash": consistent hashing on a request key (ketama). Each server owns 160 points
// per unit of weight on a ring of 64-bit hashes; a key goes to the owner of the first point at
// or after the key's hash. A point's position depends only on its server's address text, so
// removing a server (reload) or finding it down moves only the keys that were on it, and those
// spread over all the others instead of piling onto one neighbour; every other key stays put,
// which is the point of hashing for caches.
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "upstream/balancer.hpp"
#include "upstream/stable_hash.hpp"

namespace serverd {
namespace {

constexpr int kPointsPerWeight = 160;

struct RingPoint {
  std::uint64_t hash;
  std::uint32_t position;  // in the tier
};

class ConsistentHashBalancer final : public Balancer {
 public:
  explicit ConsistentHashBalancer(PeerTier tier) : tier_(std::move(tier)), seen_(tier_.size(), 0) {
    std::size_t points = 0;
    for (const UpstreamPeer* p : tier_) points += static_cast<std::size_t>(p->weight());
    ring_.reserve(points * kPointsPerWeight);
    // The same address listed twice would otherwise put both copies on the same points, where
    // the first would shadow the second; later copies are told apart by their occurrence.
    std::unordered_map<std::string, std::uint64_t> occurrences;
    for (std::size_t pos = 0; pos < tier_.size(); ++pos) {
      const UpstreamPeer& p = *tier_[pos];
      std::uint64_t base = fnv1a64(p.config->address_text);
      if (const std::uint64_t n = occurrences[p.config->address_text]++; n > 0)
        base = fnv1a64_u64(n, fnv1a64("#", base));
      const auto count = static_cast<std::uint64_t>(p.weight()) * kPointsPerWeight;
      for (std::uint64_t j = 0; j < count; ++j)
        ring_.push_back({mix64(fnv1a64_u64(j, base)), static_cast<std::uint32_t>(pos)});
    }
    // Ties (astronomically rare) are ordered by position so that every worker agrees.
    std::sort(ring_.begin(), ring_.end(), [](const RingPoint& a, const RingPoint& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.position < b.position;
    });
  }

  UpstreamPeer* pick(const PickContext& ctx) noexcept override {
    if (ring_.empty()) return nullptr;
    const std::uint64_t h = stable_hash(ctx.hash_key);
    auto it = std::lower_bound(ring_.begin(), ring_.end(), h,
                               [](const RingPoint& pt, std::uint64_t v) { return pt.hash < v; });
    std::size_t i = static_cast<std::size_t>(it - ring_.begin());
    // Walk the ring past unusable servers; stop once every server has been looked at, which
    // bounds the walk when all are down without scanning all points.
    next_stamp();
    std::size_t distinct = 0;
    for (std::size_t walked = 0; walked < ring_.size(); ++walked, ++i) {
      if (i == ring_.size()) i = 0;
      const std::uint32_t pos = ring_[i].position;
      if (seen_[pos] == stamp_) continue;
      seen_[pos] = stamp_;
      if (peer_usable(*tier_[pos], ctx)) return tier_[pos];
      if (++distinct == tier_.size()) break;
    }
    return nullptr;
  }

 private:
  // Marks "looked at during this pick" without clearing seen_ on every pick.
  void next_stamp() {
    if (++stamp_ == 0) {
      std::fill(seen_.begin(), seen_.end(), 0);
      stamp_ = 1;
    }
  }

  PeerTier tier_;
  std::vector<RingPoint> ring_;  // sorted by hash
  std::vector<std::uint32_t> seen_;
  std::uint32_t stamp_ = 0;
};

}  // namespace

std::unique_ptr<Balancer> make_consistent_hash_balancer(PeerTier tier) {
  return std::make_unique<ConsistentHashBalancer>(std::move(tier));
}

}  // namespace serverd
