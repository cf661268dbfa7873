#include "http/router.hpp"

#include <algorithm>
#include <cassert>

namespace serverd {

LocationIndex::LocationIndex(const ServerConfig& server) {
  for (const auto& loc : server.locations) {
    switch (loc.match) {
      case MatchKind::exact:
        exact_.emplace(loc.path, &loc);
        break;
      case MatchKind::prefix:
      case MatchKind::priority_prefix:
        prefixes_.push_back(&loc);
        break;
      case MatchKind::regex:
      case MatchKind::regex_icase:
        regexes_.push_back(&loc);
        break;
    }
  }
  std::stable_sort(prefixes_.begin(), prefixes_.end(), [](auto* a, auto* b) {
    return a->path.size() > b->path.size();
  });
}

const LocationConfig* LocationIndex::match(std::string_view path) const {
  if (!exact_.empty()) {
    auto it = exact_.find(path);
    if (it != exact_.end()) return it->second;
  }
  const LocationConfig* prefix = nullptr;
  for (const auto* loc : prefixes_) {
    if (path.starts_with(loc->path)) {
      prefix = loc;
      break;
    }
  }
  if (prefix && prefix->match == MatchKind::priority_prefix) return prefix;
  for (const auto* loc : regexes_) {
    if (std::regex_search(path.begin(), path.end(), *loc->regex)) return loc;
  }
  return prefix;
}

const ServerConfig& ServerIndex::select(std::string_view host) const {
  if (!host.empty()) {
    if (!exact_.empty()) {
      auto it = exact_.find(host);
      if (it != exact_.end()) return *it->second;
    }
    for (const auto& [suffix, server] : wildcards_) {
      // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
      if (host.size() > suffix.size() && host.ends_with(suffix)) return *server;
    }
  }
  return *default_;
}

const LocationIndex& ServerIndex::locations(const ServerConfig& server) const {
  for (const auto& [s, index] : *location_indexes_)
    if (s == &server) return index;
  assert(false && "server without a location index");
  return location_indexes_->front().second;
}

Router::Router(const Config& config) {
  location_indexes_.reserve(config.servers.size());
  for (const auto& server : config.servers) location_indexes_.emplace_back(&server, server);

  for (const auto& server : config.servers) {
    for (const auto& listen : server.listen) {
      std::size_t i = 0;
      while (i < listeners_.size() && !(listeners_[i]->address == listen.address)) ++i;
      if (i == listeners_.size()) {
        listeners_.push_back(&listen);
        indexes_.emplace_back();
        indexes_.back().location_indexes_ = &location_indexes_;
      }
      ServerIndex& idx = indexes_[i];
      if (!idx.default_ || listen.default_server) idx.default_ = &server;
      for (const auto& name : server.server_names) {
        if (name.starts_with("*.")) {
          std::string suffix = name.substr(1);
          bool seen = std::any_of(idx.wildcards_.begin(), idx.wildcards_.end(),
                                  [&](const auto& w) { return w.first == suffix; });
          if (!seen) idx.wildcards_.emplace_back(std::move(suffix), &server);
        } else {
          idx.exact_.emplace(name, &server);  // first definition wins, as in nginx
        }
      }
    }
  }
  for (auto& idx : indexes_) {
    std::stable_sort(idx.wildcards_.begin(), idx.wildcards_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
}

const ServerIndex* Router::servers_for(const SocketAddress& address) const {
  for (std::size_t i = 0; i < listeners_.size(); ++i)
    if (listeners_[i]->address == address) return &indexes_[i];
  return nullptr;
}

}  // namespace serverd
