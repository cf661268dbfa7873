#include "upstream/upstream_group.hpp"

#include "upstream/stable_hash.hpp"

namespace serverd {

UpstreamGroup::UpstreamGroup(const UpstreamConfig& config, std::uint64_t seed)
    : config_(std::make_unique<const UpstreamConfig>(config)) {
  peers_.resize(config_->servers.size());
  PeerTier primary;
  PeerTier backup;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peers_[i].config = &config_->servers[i];
    peers_[i].index = i;
    (config_->servers[i].backup ? backup : primary).push_back(&peers_[i]);
  }
  if (!primary.empty()) primary_ = make_balancer(config_->balance, std::move(primary), seed);
  // A different stream for the backups, so the two tiers' draws are not correlated.
  if (!backup.empty())
    backup_ = make_balancer(config_->balance, std::move(backup), mix64(seed ^ 0xbac0bac0ULL));
}

UpstreamGroup::~UpstreamGroup() = default;

UpstreamPeer* UpstreamGroup::pick(const PickContext& ctx) noexcept {
  if (peers_.size() == 1) {
    // As nginx: the only server is never held off by passive health. There is nothing to fail
    // over to, so skipping it only turns a backend restart into fail_timeout's worth of 502s.
    UpstreamPeer& only = peers_[0];
    return ctx.was_tried(0) || only.health_down ? nullptr : &only;
  }
  UpstreamPeer* p = primary_ ? primary_->pick(ctx) : nullptr;
  if (p == nullptr && backup_) p = backup_->pick(ctx);
  if (p == nullptr) return nullptr;
  // Still at max_fails although picked: its fail_timeout has passed (or its previous trial
  // never reported) and this request is its trial. Hold the others off until the trial reports,
  // or another fail_timeout passes should it never report.
  if (p->max_fails() > 0 && p->fails >= p->max_fails()) {
    p->probing = true;
    p->down_until = ctx.now + p->config->fail_timeout;
  }
  return p;
}

bool UpstreamGroup::report_failure(UpstreamPeer& p, Clock::time_point now) noexcept {
  const int max_fails = p.max_fails();
  if (max_fails <= 0 || peers_.size() == 1) return false;
  const auto fail_timeout = p.config->fail_timeout;
  if (p.probing) {
    p.probing = false;
    p.fails = max_fails;
    p.down_until = now + fail_timeout;
    return true;
  }
  if (p.fails >= max_fails) return false;  // already down: counted by an earlier failure
  if (p.fails == 0 || now - p.window_start >= fail_timeout) {
    p.window_start = now;
    p.fails = 0;
  }
  if (++p.fails < max_fails) return false;
  p.down_until = now + fail_timeout;
  return true;
}

void UpstreamGroup::report_success(UpstreamPeer& p) noexcept {
  if (p.probing) {
    p.probing = false;
    p.fails = 0;
    p.down_until = {};
    return;
  }
  if (p.max_fails() > 0 && p.fails >= p.max_fails()) return;  // stale: it went down since
  p.fails = 0;
}

bool UpstreamGroup::set_health(std::size_t index, bool up) noexcept {
  if (index >= peers_.size()) return false;
  UpstreamPeer& p = peers_[index];
  if (p.health_down == !up) return false;
  p.health_down = !up;
  return true;
}

}  // namespace serverd
