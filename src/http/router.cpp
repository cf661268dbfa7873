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
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](auto* a, auto* b) { return a->path.size() > b->path.size(); });
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

const ServerConfig& ServerIndex::select(std::string_view host,
                                        std::vector<std::string>* captures) const {
  if (captures != nullptr) captures->clear();
  if (host.empty()) return *default_;
  if (!exact_.empty()) {
    auto it = exact_.find(host);
    if (it != exact_.end()) return *it->second;
  }
  for (const auto& [suffix, server] : wildcards_) {
    // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
    if (host.size() > suffix.size() && host.ends_with(suffix)) return *server;
  }
  for (const auto& [prefix, server] : trailing_) {
    // "www.example.*" matches "www.example.org" and "www.example.co.uk".
    if (host.size() > prefix.size() && host.starts_with(prefix)) return *server;
  }
  for (const auto& [regex, server] : regexes_) {
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(host.begin(), host.end(), m, *regex)) continue;
    if (captures != nullptr) {
      for (const auto& group : m) captures->emplace_back(group.first, group.second);
    }
    return *server;
  }
  return *default_;
}

std::shared_ptr<const std::regex> compile_server_name_regex(std::string_view pattern) {
  // Host names are lower-cased before matching; nocase keeps "~^API\\." meaningful too.
  return std::make_shared<const std::regex>(std::string(pattern),
                                            std::regex::ECMAScript | std::regex::icase);
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
      // First definition wins everywhere, as in nginx.
      auto add_once = [&](auto& list, std::string key) {
        bool seen =
            std::any_of(list.begin(), list.end(), [&](const auto& w) { return w.first == key; });
        if (!seen) list.emplace_back(std::move(key), &server);
      };
      for (const auto& name : server.server_names) {
        if (name.starts_with("~")) {
          idx.regexes_.emplace_back(compile_server_name_regex(name.substr(1)), &server);
        } else if (name.starts_with("*.")) {
          add_once(idx.wildcards_, name.substr(1));
        } else if (name.starts_with(".") && name.size() > 1) {
          // nginx's ".example.org": "example.org" and "*.example.org" in one name.
          idx.exact_.emplace(name.substr(1), &server);
          add_once(idx.wildcards_, name);
        } else if (name.ends_with(".*")) {
          add_once(idx.trailing_, name.substr(0, name.size() - 1));
        } else {
          idx.exact_.emplace(name, &server);
        }
      }
    }
  }
  auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  for (auto& idx : indexes_) {
    std::stable_sort(idx.wildcards_.begin(), idx.wildcards_.end(), longest_first);
    std::stable_sort(idx.trailing_.begin(), idx.trailing_.end(), longest_first);
  }
}

const ServerIndex* Router::servers_for(const SocketAddress& address) const {
  for (std::size_t i = 0; i < listeners_.size(); ++i)
    if (listeners_[i]->address == address) return &indexes_[i];
  return nullptr;
}

}  // namespace serverd
