#pragma once
#include <string>
#include <string_view>

namespace serverd {

struct SplitTarget {
  std::string_view host;   // from an absolute-form target ("http://host:port/..."), else empty
  std::string_view path;   // raw path, starts with '/'
  std::string_view query;  // without '?'
};

// Splits an origin-form or absolute-form (http/https) request target. false when the target is
// neither (an authority-form or "*" target, or garbage).
bool split_target(std::string_view target, SplitTarget& out);

// Percent-decodes `raw_path`, merges "//", removes "." segments and resolves ".." segments, as
// nginx does before matching locations. false (-> 400) on a bad %-escape, a decoded NUL, or a
// ".." that would climb above "/". A trailing '/' is kept.
bool normalize_path(std::string_view raw_path, std::string& out);

// Validates a Host header value and returns the host part lower-cased without the port
// ("Example.COM:8080" -> "example.com", "[::1]:80" -> "[::1]"). false -> 400.
bool parse_host(std::string_view value, std::string& host_out);

}  // namespace serverd
