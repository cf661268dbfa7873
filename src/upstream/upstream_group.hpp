#pragma once
// An upstream group as one worker runs it: its peers with their load and passive health, and the
// balancer that picks among them. Every worker has its own groups (no shared state, no locks);
// active health results reach them through set_health, broadcast by the agent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "event/timer.hpp"
#include "upstream/balancer.hpp"
#include "upstream/upstream_peer.hpp"

namespace serverd {

class UpstreamGroup {
 public:
  // `seed` feeds the random balancer; groups are per worker. The group keeps its own copy of
  // `config`, so it does not depend on the lifetime of the Config it came from. Throws
  // std::invalid_argument for an unknown balance method (the loader rejects those).
  UpstreamGroup(const UpstreamConfig& config, std::uint64_t seed);
  // Movable (peers keep their addresses: they live on the heap), not copyable: balancers point
  // at the peers.
  UpstreamGroup(UpstreamGroup&&) noexcept = default;
  UpstreamGroup& operator=(UpstreamGroup&&) noexcept = default;
  UpstreamGroup(const UpstreamGroup&) = delete;
  UpstreamGroup& operator=(const UpstreamGroup&) = delete;
  ~UpstreamGroup();

  const UpstreamConfig& config() const { return *config_; }
  std::size_t size() const { return peers_.size(); }
  UpstreamPeer& peer(std::size_t i) { return peers_[i]; }
  const UpstreamPeer& peer(std::size_t i) const { return peers_[i]; }

  // The next peer for a request, skipping tried, passively-down and health-down peers; backup
  // peers only when no primary peer is usable. nullptr when nothing is usable ("no live
  // upstreams" -> 502). A passively-down peer whose fail_timeout has passed is handed out to
  // one request as a trial (see UpstreamPeer::probing) and skipped by the others until that
  // trial reports success or failure. The only server of a group is never passively down.
  UpstreamPeer* pick(const PickContext& ctx) noexcept;

  // Bookkeeping: acquire on connect attempt, release when the request is done with it.
  void acquire(UpstreamPeer& p) noexcept { ++p.active; }
  void release(UpstreamPeer& p) noexcept {
    if (p.active > 0) --p.active;
  }

  // A failed attempt (connect error/timeout, error or timeout before a response): counts
  // towards max_fails within fail_timeout; at max_fails the peer is down for fail_timeout
  // (max_fails = 0 disables). Returns true when this failure marked the peer down (log once):
  // failures of requests that were already in flight when it went down return false, a failed
  // trial after fail_timeout returns true again (down for another fail_timeout). The only server
  // of a group is never marked down (nginx's rule): always false.
  bool report_failure(UpstreamPeer& p, Clock::time_point now) noexcept;
  // Resets its failure count; a successful trial brings a down peer back. A success of a request
  // that started before the peer was marked down does not bring it back: the failure is newer.
  void report_success(UpstreamPeer& p) noexcept;

  // Active health state for peer `index` (from the agent); returns true if it changed. An
  // index out of range (a broadcast for another generation's config) changes nothing.
  bool set_health(std::size_t index, bool up) noexcept;

 private:
  std::unique_ptr<const UpstreamConfig> config_;
  std::vector<UpstreamPeer> peers_;
  std::unique_ptr<Balancer> primary_;  // nullptr when the group has no primary servers
  std::unique_ptr<Balancer> backup_;   // nullptr when it has no backup servers
};

}  // namespace serverd
