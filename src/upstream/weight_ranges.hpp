#pragma once
// Maps a number in [0, total weight) to a peer of a tier, each peer owning a range as wide as its
// weight: how ip_hash and random turn a hash or a random draw into a weighted choice.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "upstream/balancer.hpp"

namespace serverd {

class WeightRanges {
 public:
  explicit WeightRanges(const PeerTier& tier) {
    ends_.reserve(tier.size());
    for (const UpstreamPeer* p : tier) {
      total_ += static_cast<std::uint64_t>(p->weight());
      ends_.push_back(total_);
    }
  }

  std::uint64_t total() const { return total_; }

  // Position in the tier of the peer owning `x`, which must be below total().
  std::size_t position(std::uint64_t x) const {
    return static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), x) -
                                    ends_.begin());
  }

 private:
  std::vector<std::uint64_t> ends_;  // exclusive end of each peer's range
  std::uint64_t total_ = 0;
};

}  // namespace serverd
