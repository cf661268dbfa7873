// The round_robin method and the choice of a method by name.
#include "upstream/balancer.hpp"

#include <stdexcept>
#include <string>

#include "upstream/smooth_round_robin.hpp"

namespace serverd {
namespace {

class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(PeerTier tier) : rr_(std::move(tier)) {}
  UpstreamPeer* pick(const PickContext& ctx) noexcept override { return rr_.pick(ctx); }

 private:
  SmoothRoundRobin rr_;
};

}  // namespace

std::unique_ptr<Balancer> make_round_robin_balancer(PeerTier tier) {
  return std::make_unique<RoundRobinBalancer>(std::move(tier));
}

std::unique_ptr<Balancer> make_balancer(std::string_view kind, PeerTier tier, std::uint64_t seed) {
  if (kind == "round_robin") return make_round_robin_balancer(std::move(tier));
  if (kind == "least_conn") return make_least_conn_balancer(std::move(tier));
  if (kind == "ip_hash") return make_ip_hash_balancer(std::move(tier));
  if (kind == "hash") return make_consistent_hash_balancer(std::move(tier));
  if (kind == "random") return make_random_balancer(std::move(tier), seed);
  throw std::invalid_argument("unknown upstream balance method \"" + std::string(kind) + "\"");
}

}  // namespace serverd
