#pragma once
// Request routing, compiled once per config: which servers listen on each address, which server
// a Host selects, and which location answers a path, in nginx's precedence order.
//
// Host -> server, as nginx: the exact name; then the longest leading wildcard ("*.example.org",
// and ".example.org", which also names "example.org" exactly); then the longest trailing
// wildcard ("www.example.*"); then the regular expressions ("~^api\\.(.+)$") in config order,
// the first match winning (its captures become $1..$9); then the address's default server.
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"

namespace serverd {

// Lets maps keyed by std::string be searched with a string_view without allocating.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class LocationIndex {
 public:
  explicit LocationIndex(const ServerConfig& server);
  // nullptr when no location matches (-> 404).
  const LocationConfig* match(std::string_view path) const;

 private:
  StringMap<const LocationConfig*> exact_;
  std::vector<const LocationConfig*> prefixes_;  // longest first
  std::vector<const LocationConfig*> regexes_;   // file order
};

class ServerIndex {
 public:
  // `captures`, when given, receives a matching regex name's groups ([0] = the whole host),
  // and is cleared otherwise.
  const ServerConfig& select(std::string_view host,
                             std::vector<std::string>* captures = nullptr) const;
  const LocationIndex& locations(const ServerConfig& server) const;

 private:
  friend class Router;
  const ServerConfig* default_ = nullptr;
  StringMap<const ServerConfig*> exact_;
  std::vector<std::pair<std::string, const ServerConfig*>> wildcards_;  // ".suffix", longest first
  std::vector<std::pair<std::string, const ServerConfig*>> trailing_;   // "prefix.", longest first
  std::vector<std::pair<std::shared_ptr<const std::regex>, const ServerConfig*>> regexes_;
  const std::vector<std::pair<const ServerConfig*, LocationIndex>>* location_indexes_ = nullptr;
};

class Router {
 public:
  explicit Router(const Config& config);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Distinct listen addresses in first-seen order, with the options of their first listen entry.
  const std::vector<const ListenConfig*>& listeners() const { return listeners_; }
  // The servers of one listen address; nullptr when nothing listens there.
  const ServerIndex* servers_for(const SocketAddress& address) const;

 private:
  std::vector<std::pair<const ServerConfig*, LocationIndex>> location_indexes_;
  std::vector<const ListenConfig*> listeners_;
  std::vector<ServerIndex> indexes_;  // parallel to listeners_
};

// A server_name regex ("~" already removed), compiled as the router uses it; throws
// std::regex_error when it is invalid (the loader reports that at the name's position).
std::shared_ptr<const std::regex> compile_server_name_regex(std::string_view pattern);

}  // namespace serverd
