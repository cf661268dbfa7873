#pragma once
// One server of an upstream group as one worker sees it, and what a balancer needs to know
// about the request it picks for. Split from upstream_group.hpp so that the balancers can use
// these types without depending on the group that owns them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.hpp"
#include "event/timer.hpp"

namespace serverd {

struct UpstreamPeer {                            // one server of a group, per worker
  const UpstreamServerConfig* config = nullptr;  // address, weight, max_fails, fail_timeout, backup
  std::size_t index = 0;                         // position in the group
  int active = 0;                                // requests in flight on it (least_conn, random)
  int fails = 0;                                 // failures in the current fail_timeout window
  Clock::time_point window_start{};              // start of that window
  Clock::time_point down_until{};                // passive health: skipped until then
  bool health_down = false;  // active health checks (set by the agent's broadcasts)
  // Passive health, as nginx does it: once a down peer's fail_timeout has passed it gets one
  // trial request (not a flood); this is set while that trial is in flight, and its outcome
  // decides between "up again" and "down for another fail_timeout".
  bool probing = false;

  // The configured weight, never below 1 so that arithmetic on it cannot divide by or spin on 0.
  int weight() const { return config != nullptr && config->weight > 0 ? config->weight : 1; }
  int max_fails() const { return config != nullptr ? config->max_fails : 0; }
};

struct PickContext {
  Clock::time_point now;
  std::string_view hash_key;  // client address text for ip_hash, the expanded key for hash
  std::uint64_t tried = 0;    // bit i set: peer i already tried for this request

  // Only the first 64 peers of a group can be remembered as tried; a retry may come back to a
  // later one. Groups that large are rare and the proxy bounds its retries anyway.
  static constexpr std::size_t kTrackedPeers = 64;
  bool was_tried(std::size_t index) const {
    return index < kTrackedPeers && ((tried >> index) & 1U) != 0;
  }
  void mark_tried(std::size_t index) {
    if (index < kTrackedPeers) tried |= std::uint64_t{1} << index;
  }
};

// Whether a balancer may hand `p` out for this request: not yet tried for it, not marked down
// by the active health checks, and not (or no longer) marked down by passive health.
inline bool peer_usable(const UpstreamPeer& p, const PickContext& ctx) {
  return !ctx.was_tried(p.index) && !p.health_down && ctx.now >= p.down_until;
}

}  // namespace serverd
