#include "modules/static/conditional.hpp"

#include "http/http_date.hpp"
#include "modules/static/etag.hpp"

namespace serverd {

Precondition evaluate_preconditions(const ConditionalHeaders& headers, bool get_or_head,
                                    std::string_view etag, std::time_t mtime) {
  if (headers.if_match) {
    if (!etag_list_matches(*headers.if_match, etag, EtagCompare::strong))
      return Precondition::failed;
  } else if (headers.if_unmodified_since) {
    const auto date = parse_http_date(*headers.if_unmodified_since);
    if (date && mtime > *date) return Precondition::failed;
  }

  if (headers.if_none_match) {
    if (etag_list_matches(*headers.if_none_match, etag, EtagCompare::weak))
      return get_or_head ? Precondition::not_modified : Precondition::failed;
  } else if (headers.if_modified_since && get_or_head) {
    const auto date = parse_http_date(*headers.if_modified_since);
    if (date && mtime <= *date) return Precondition::not_modified;
  }
  return Precondition::proceed;
}

bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t mtime) {
  while (!if_range.empty() && (if_range.front() == ' ' || if_range.front() == '\t'))
    if_range.remove_prefix(1);
  while (!if_range.empty() && (if_range.back() == ' ' || if_range.back() == '\t'))
    if_range.remove_suffix(1);
  if (if_range.starts_with('"') || if_range.starts_with("W/")) {
    // A list is not allowed here; a single tag compared strongly.
    if (if_range.find(',') != std::string_view::npos) return false;
    return etag_list_matches(if_range, etag, EtagCompare::strong);
  }
  const auto date = parse_http_date(if_range);
  return date && *date == mtime;
}

}  // namespace serverd
