// least_conn: the peer with the fewest requests in flight per unit of weight, so a server of
// weight 3 is considered as loaded as one of weight 1 when it has three times the requests.
// Ties (notably "all idle") go round robin among the tied, as in nginx, so that an idle group
// still spreads by weight instead of always starting with its first server.
#include <cstdint>

#include "upstream/balancer.hpp"
#include "upstream/smooth_round_robin.hpp"

namespace serverd {
namespace {

// Compares active/weight without division: a.active/a.weight < b.active/b.weight.
std::int64_t load_cmp(const UpstreamPeer& a, const UpstreamPeer& b) {
  return std::int64_t{a.active} * b.weight() - std::int64_t{b.active} * a.weight();
}

class LeastConnBalancer final : public Balancer {
 public:
  explicit LeastConnBalancer(PeerTier tier) : rr_(std::move(tier)) {}

  UpstreamPeer* pick(const PickContext& ctx) noexcept override {
    UpstreamPeer* best = nullptr;
    bool tied = false;
    for (UpstreamPeer* p : rr_.tier()) {
      if (!peer_usable(*p, ctx)) continue;
      if (best == nullptr) {
        best = p;
        continue;
      }
      const std::int64_t c = load_cmp(*p, *best);
      if (c < 0) {
        best = p;
        tied = false;
      } else if (c == 0) {
        tied = true;
      }
    }
    if (best == nullptr) return nullptr;
    if (!tied) return best;
    return rr_.pick_if(ctx, [best](const UpstreamPeer& p) { return load_cmp(p, *best) == 0; });
  }

 private:
  SmoothRoundRobin rr_;
};

}  // namespace

std::unique_ptr<Balancer> make_least_conn_balancer(PeerTier tier) {
  return std::make_unique<LeastConnBalancer>(std::move(tier));
}

}  // namespace serverd
