// ip_hash: a client keeps reaching the same server (sessions kept in a server's memory), as in
// nginx: the key is the client's IPv4 /24 (its first three octets) or its whole IPv6 address,
// mapped onto the servers by weight. When that server is unusable the hash is taken again, a
// bounded number of times, and then the request falls back to round robin: a failure moves only
// the clients of the failed server, and they come back when it recovers.
//
// Unlike nginx's (89, 113, 6271) arithmetic the hash is a 64-bit stable hash, so that groups
// whose weights add up to more than 6271 still reach every server.
#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "upstream/balancer.hpp"
#include "upstream/smooth_round_robin.hpp"
#include "upstream/stable_hash.hpp"
#include "upstream/weight_ranges.hpp"

namespace serverd {
namespace {

constexpr int kMaxRehash = 20;  // nginx's bound before giving up on stickiness

// The bytes that identify a client: 3 for IPv4 (also IPv4-mapped IPv6, what a dual-stack
// listener reports for IPv4 clients), 16 for IPv6, and the text itself when it is not an
// address (a unix socket peer, a zone-qualified IPv6 address) so such clients still spread.
std::string_view client_bytes(std::string_view text, std::array<unsigned char, 16>& buf) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  char cstr[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof cstr) return text;
  std::memcpy(cstr, text.data(), text.size());
  cstr[text.size()] = '\0';
  const char* bytes = reinterpret_cast<const char*>(buf.data());
  in_addr v4{};
  if (inet_pton(AF_INET, cstr, &v4) == 1) {
    std::memcpy(buf.data(), &v4, 3);
    return {bytes, 3};
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, cstr, &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(buf.data(), v6.s6_addr + 12, 3);
      return {bytes, 3};
    }
    std::memcpy(buf.data(), v6.s6_addr, 16);
    return {bytes, 16};
  }
  return text;
}

class IpHashBalancer final : public Balancer {
 public:
  explicit IpHashBalancer(PeerTier tier) : ranges_(tier), rr_(std::move(tier)) {}

  UpstreamPeer* pick(const PickContext& ctx) noexcept override {
    if (ranges_.total() == 0) return nullptr;
    std::array<unsigned char, 16> buf{};
    const std::uint64_t base = fnv1a64(client_bytes(ctx.hash_key, buf));
    for (int attempt = 0; attempt < kMaxRehash; ++attempt) {
      const std::uint64_t h = mix64(fnv1a64_u64(static_cast<std::uint64_t>(attempt), base));
      UpstreamPeer* p = rr_.tier()[ranges_.position(h % ranges_.total())];
      if (peer_usable(*p, ctx)) return p;
    }
    return rr_.pick(ctx);
  }

 private:
  WeightRanges ranges_;
  SmoothRoundRobin rr_;
};

}  // namespace

std::unique_ptr<Balancer> make_ip_hash_balancer(PeerTier tier) {
  return std::make_unique<IpHashBalancer>(std::move(tier));
}

}  // namespace serverd
