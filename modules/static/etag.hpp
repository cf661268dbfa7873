#pragma once
// Entity tags (RFC 9110 §8.8.3) for static files, nginx-compatible: "<hex mtime>-<hex size>",
// so caches keep validating across a switch between nginx and serverd.
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace serverd {

std::string make_etag(std::time_t mtime, std::uint64_t size);

enum class EtagCompare { strong, weak };

// Whether a comma-separated entity-tag list (an If-Match / If-None-Match value) names `etag`.
// "*" matches anything. Weak comparison ignores "W/" on either side; strong comparison never
// matches a weak tag. Malformed members are skipped, never matched.
bool etag_list_matches(std::string_view list, std::string_view etag, EtagCompare compare);

}  // namespace serverd
