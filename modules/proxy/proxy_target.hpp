#pragma once
// proxy_pass targets and nginx's URI rules.
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "http/request.hpp"

namespace serverd {

struct ProxyTarget {
  std::string scheme = "http";
  std::string authority;  // "app" (an [[upstream]] name) or "127.0.0.1:9000"
  bool has_uri = false;   // "http://app/v1/" has one ("/v1/"); "http://app" has none
  std::string uri;
};

// Parses "http://name[:port][/uri]". nullopt (and why in *error) when malformed.
std::optional<ProxyTarget> parse_proxy_pass(std::string_view text, std::string* error);

// The request target sent upstream. Without a URI in proxy_pass the client's target goes as
// received; with one, the part of the (normalised) path matched by the location prefix is
// replaced by it, as nginx does: location /api/ + proxy_pass http://app/v1/ sends /api/x?q as
// /v1/x?q.
std::string map_upstream_uri(const Request& request, const LocationConfig& location,
                             const ProxyTarget& target);

// Percent-encodes what may not appear raw in a path (space, controls, non-ASCII, '?', '#', '%').
void append_encoded_path(std::string& out, std::string_view path);

}  // namespace serverd
