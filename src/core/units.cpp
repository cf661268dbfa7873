#include "core/units.hpp"

#include <array>
#include <limits>

namespace serverd {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Largest first: format_* picks the first unit that divides exactly.
constexpr std::array<Unit, 5> kDurationUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

constexpr std::array<Unit, 10> kSizeUnits{{
    {"GiB", 1ull << 30},
    {"MiB", 1ull << 20},
    {"KiB", 1ull << 10},
    // nginx spellings, always binary multiples as in nginx.
    {"g", 1ull << 30},
    {"G", 1ull << 30},
    {"m", 1ull << 20},
    {"M", 1ull << 20},
    {"k", 1ull << 10},
    {"K", 1ull << 10},
    {"", 1},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits "123unit" into its number and unit; nullopt when there is no leading number or
// the number does not fit.
struct NumberAndUnit {
  std::uint64_t number;
  std::string_view unit;
};
std::optional<NumberAndUnit> split_number(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && is_digit(text[i])) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (kMax - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  return NumberAndUnit{n, text.substr(i)};
}

template <std::size_t N>
std::optional<std::uint64_t> scale(std::string_view text, const std::array<Unit, N>& units,
                                   std::uint64_t max) {
  const auto parsed = split_number(text);
  if (!parsed) return std::nullopt;
  for (const Unit& u : units) {
    if (parsed->unit != u.suffix) continue;
    if (parsed->number > max / u.factor) return std::nullopt;
    return parsed->number * u.factor;
  }
  return std::nullopt;
}

template <std::size_t N>
std::string format_with(std::uint64_t value, const std::array<Unit, N>& units) {
  for (const Unit& u : units) {
    if (value % u.factor == 0) return std::to_string(value / u.factor) + std::string(u.suffix);
  }
  return std::to_string(value);  // unreachable: the last unit has factor 1
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  // The unit is required: a bare number would be ambiguous between ms and s.
  if (text.empty() || is_digit(text.back())) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  const auto ms = scale(text, kDurationUnits, kMax);
  if (!ms) return std::nullopt;
  return Duration{static_cast<Duration::rep>(*ms)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  return scale(text, kSizeUnits, std::numeric_limits<std::uint64_t>::max());
}

std::string format_duration(Duration d) {
  if (d.count() < 0) return std::to_string(d.count()) + "ms";  // not parseable; never loaded
  if (d.count() == 0) return "0s";
  return format_with(static_cast<std::uint64_t>(d.count()), kDurationUnits);
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  // Only the canonical IEC spellings (the first three units) and plain bytes.
  constexpr std::array<Unit, 4> kCanonical{{kSizeUnits[0], kSizeUnits[1], kSizeUnits[2], {"", 1}}};
  return format_with(bytes, kCanonical);
}

}  // namespace serverd
