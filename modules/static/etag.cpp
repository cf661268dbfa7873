#include "modules/static/etag.hpp"

#include <fmt/format.h>

namespace serverd {
namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

struct ParsedTag {
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

// One entity-tag: [W/] DQUOTE *etagc DQUOTE; false when malformed.
bool parse_tag(std::string_view s, ParsedTag& tag) {
  tag.weak = s.starts_with("W/");
  if (tag.weak) s.remove_prefix(2);
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  if (s.substr(1, s.size() - 2).find('"') != std::string_view::npos) return false;
  tag.opaque = s;
  return true;
}

}  // namespace

std::string make_etag(std::time_t mtime, std::uint64_t size) {
  return fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(mtime), size);
}

bool etag_list_matches(std::string_view list, std::string_view etag, EtagCompare compare) {
  ParsedTag ours;
  if (!parse_tag(etag, ours)) return false;
  if (trim(list) == "*") return true;
  while (!list.empty()) {
    // Tags cannot contain '"' inside, and commas only appear inside quotes, so split on a
    // comma outside quotes.
    std::size_t end = 0;
    bool quoted = false;
    while (end < list.size() && (quoted || list[end] != ',')) {
      if (list[end] == '"') quoted = !quoted;
      ++end;
    }
    ParsedTag theirs;
    if (parse_tag(trim(list.substr(0, end)), theirs) && theirs.opaque == ours.opaque) {
      if (compare == EtagCompare::weak) return true;
      if (!theirs.weak && !ours.weak) return true;
    }
    list.remove_prefix(end < list.size() ? end + 1 : end);
  }
  return false;
}

}  // namespace serverd
