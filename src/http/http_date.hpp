#pragma once
// HTTP-date (RFC 9110 §5.6.7). Pure calendar arithmetic on UTC: no locale, no TZ, no libc time
// functions whose results depend on the environment.
#include <cstddef>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace serverd {

// "Sun, 06 Nov 1994 08:49:37 GMT" is always exactly this long.
inline constexpr std::size_t kHttpDateLength = 29;

// IMF-fixdate into a caller-owned buffer (not NUL-terminated): the Date header is refreshed
// once per second, and this path must not allocate. Years outside 0..9999 are clamped.
void format_http_date(std::time_t t, std::span<char, kHttpDateLength> out);
std::string format_http_date(std::time_t t);

// Accepts IMF-fixdate, the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT") and
// asctime ("Sun Nov  6 08:49:37 1994"); surrounding whitespace is ignored. nullopt when the
// text is none of these or names an impossible date. The weekday is not cross-checked with the
// date, as senders get it wrong and it carries no information.
std::optional<std::time_t> parse_http_date(std::string_view text);

}  // namespace serverd
