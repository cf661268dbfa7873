#pragma once
// Conditional requests against a file's validators (RFC 9110 §13.2.2 evaluation order):
// If-Match, then If-Unmodified-Since, then If-None-Match, then If-Modified-Since. If-Range is
// separate: it only decides whether a Range header is honoured.
#include <ctime>
#include <optional>
#include <string_view>

namespace serverd {

struct ConditionalHeaders {
  std::optional<std::string_view> if_match = std::nullopt;
  std::optional<std::string_view> if_unmodified_since = std::nullopt;
  std::optional<std::string_view> if_none_match = std::nullopt;
  std::optional<std::string_view> if_modified_since = std::nullopt;
};

enum class Precondition {
  proceed,       // send the representation (200/206)
  not_modified,  // 304
  failed,        // 412
};

// `get_or_head`: whether the method is GET or HEAD; a failed If-None-Match is a 304 only then.
// Unparsable dates are ignored, as RFC 9110 requires.
Precondition evaluate_preconditions(const ConditionalHeaders& headers, bool get_or_head,
                                    std::string_view etag, std::time_t mtime);

// Whether a Range request may be served as a range: the If-Range value is an entity-tag that
// strongly matches `etag`, or an HTTP-date equal to `mtime`. Anything else means "send all".
bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t mtime);

}  // namespace serverd
