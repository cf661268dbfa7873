#include "modules/static/range.hpp"

#include <limits>

#include "http/header_list.hpp"

namespace serverd {
namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// Reads 1+ digits at the front of `s`; saturates at the uint64 maximum.
bool read_number(std::string_view& s, std::uint64_t& out) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    v = v > (kMax - digit) / 10 ? kMax : v * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  s.remove_prefix(i);
  out = v;
  return true;
}

}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange ignore;
  while (!header.empty() && is_ows(header.front())) header.remove_prefix(1);
  while (!header.empty() && is_ows(header.back())) header.remove_suffix(1);

  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size() || !iequals(header.substr(0, kUnit.size()), kUnit))
    return ignore;
  std::string_view spec = header.substr(kUnit.size());
  while (!spec.empty() && is_ows(spec.front())) spec.remove_prefix(1);
  // Several ranges (or an empty list member) are not served as ranges at all.
  if (spec.find(',') != std::string_view::npos) return ignore;

  ByteRange r;
  r.kind = ByteRange::Kind::satisfiable;
  if (spec.starts_with('-')) {
    spec.remove_prefix(1);
    std::uint64_t suffix = 0;
    if (!read_number(spec, suffix) || !spec.empty()) return ignore;
    if (suffix == 0 || size == 0) return {ByteRange::Kind::unsatisfiable, 0, 0};
    r.first = suffix >= size ? 0 : size - suffix;
    r.last = size - 1;
    return r;
  }

  std::uint64_t first = 0;
  if (!read_number(spec, first) || !spec.starts_with('-')) return ignore;
  spec.remove_prefix(1);
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!spec.empty()) {
    if (!read_number(spec, last) || !spec.empty()) return ignore;
    if (last < first) return ignore;  // invalid per RFC 9110 §14.1.1: the field is ignored
  }
  if (first >= size) return {ByteRange::Kind::unsatisfiable, 0, 0};
  r.first = first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

}  // namespace serverd
