#pragma once
// Building upstream groups for tests: servers 127.0.0.1:9001, :9002, ... named a, b, c, ... in
// pick sequences, and synthetic time points so health tests never wait.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/config.hpp"
#include "upstream/upstream_group.hpp"

namespace serverd::test {

struct ServerSpec {
  int weight = 1;
  int max_fails = 1;
  Duration fail_timeout{10'000};
  bool backup = false;
};

inline UpstreamServerConfig make_server(const std::string& address, const ServerSpec& spec) {
  UpstreamServerConfig s;
  s.address_text = address;
  s.address = *parse_listen_address(address, nullptr);
  s.weight = spec.weight;
  s.max_fails = spec.max_fails;
  s.fail_timeout = spec.fail_timeout;
  s.backup = spec.backup;
  return s;
}

inline std::string address_of(std::size_t i) {
  return "127.0.0.1:" + std::to_string(9001 + i);
}

inline UpstreamConfig make_upstream(const std::string& balance,
                                    const std::vector<ServerSpec>& servers) {
  UpstreamConfig up;
  up.name = "app";
  up.balance = balance;
  if (balance == "hash") up.hash_key = "$request_uri";
  for (std::size_t i = 0; i < servers.size(); ++i)
    up.servers.push_back(make_server(address_of(i), servers[i]));
  return up;
}

inline std::vector<ServerSpec> weights(std::initializer_list<int> ws) {
  std::vector<ServerSpec> out;
  for (int w : ws) out.push_back({.weight = w});
  return out;
}

// A fixed origin far from the epoch: a default-constructed down_until must be in the past.
inline const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

inline PickContext at(Clock::time_point now, std::string_view key = {}) {
  PickContext ctx;
  ctx.now = now;
  ctx.hash_key = key;
  return ctx;
}

inline char letter(const UpstreamPeer* p) {
  return p == nullptr ? '-' : static_cast<char>('a' + p->index);
}

// `n` picks, each released at once (an idle group), as letters: "aabacaa".
inline std::string pick_sequence(UpstreamGroup& g, std::size_t n, const PickContext& ctx) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    UpstreamPeer* p = g.pick(ctx);
    out += letter(p);
    if (p != nullptr) {
      g.acquire(*p);
      g.release(*p);
    }
  }
  return out;
}

// How many of `n` idle picks went to each peer.
inline std::vector<std::size_t> pick_counts(UpstreamGroup& g, std::size_t n,
                                            const PickContext& ctx) {
  std::vector<std::size_t> counts(g.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (UpstreamPeer* p = g.pick(ctx)) ++counts[p->index];
  }
  return counts;
}

}  // namespace serverd::test
