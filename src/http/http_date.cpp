#include "http/http_date.hpp"

#include <array>
#include <cstdint>

namespace serverd {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr std::int64_t kSecondsPerDay = 86400;

// Howard Hinnant's days_from_civil / civil_from_days: exact proleptic Gregorian arithmetic
// without timegm(), which is neither standard nor TZ-independent everywhere.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x | 0x20);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y | 0x20);
    if (x != y) return false;
  }
  return true;
}

// A forward-only reader over the date text; every step fails closed.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }

  bool literal(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  bool literal_icase(std::string_view lit) {
    if (!ascii_iequal(s_.substr(i_, lit.size()), lit)) return false;
    i_ += lit.size();
    return true;
  }
  // Exactly `n` digits.
  bool digits(std::size_t n, unsigned& out) {
    if (s_.size() - i_ < n) return false;
    unsigned v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    i_ += n;
    out = v;
    return true;
  }
  // One of `names` (case-insensitive); its index in `index`.
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, unsigned& index) {
    for (unsigned k = 0; k < N; ++k) {
      if (literal_icase(names[k])) {
        index = k;
        return true;
      }
    }
    return false;
  }
  // "HH:MM:SS"
  bool time_of_day(unsigned& h, unsigned& m, unsigned& s) {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, s) && h < 24 &&
           m < 60 && s <= 60;  // 60: a leap second, folded into the next minute
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

struct Fields {
  std::int64_t year = 0;
  unsigned month = 0;  // 1..12
  unsigned day = 0, hour = 0, minute = 0, second = 0;
};

std::optional<std::time_t> to_time(const Fields& f) {
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > days_in_month(f.year, f.month))
    return std::nullopt;
  const std::int64_t days = days_from_civil(f.year, f.month, f.day);
  return static_cast<std::time_t>(days * kSecondsPerDay + f.hour * 3600 + f.minute * 60 + f.second);
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::time_t> parse_imf_fixdate(std::string_view s) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0, year = 0;
  if (!(c.name(kDayNames, idx) && c.literal(", ") && c.digits(2, f.day) && c.literal(" ") &&
        c.name(kMonthNames, f.month) && c.literal(" ") && c.digits(4, year) && c.literal(" ") &&
        c.time_of_day(f.hour, f.minute, f.second) && c.literal(" ") && c.literal_icase("GMT") &&
        c.done()))
    return std::nullopt;
  f.month += 1;
  f.year = year;
  return to_time(f);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<std::time_t> parse_rfc850(std::string_view s) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0, year = 0;
  if (!(c.name(kLongDayNames, idx) && c.literal(", ") && c.digits(2, f.day) && c.literal("-") &&
        c.name(kMonthNames, f.month) && c.literal("-") && c.digits(2, year) && c.literal(" ") &&
        c.time_of_day(f.hour, f.minute, f.second) && c.literal(" ") && c.literal_icase("GMT") &&
        c.done()))
    return std::nullopt;
  f.month += 1;
  // A fixed pivot instead of RFC 9110's "50 years from now" keeps parsing a pure function;
  // the two only disagree for years written as 70..75, in a format unused since the 1990s.
  f.year = year < 70 ? 2000 + year : 1900 + year;
  return to_time(f);
}

// "Sun Nov  6 08:49:37 1994" (day of month space-padded)
std::optional<std::time_t> parse_asctime(std::string_view s) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0, year = 0;
  if (!(c.name(kDayNames, idx) && c.literal(" ") && c.name(kMonthNames, f.month) && c.literal(" ")))
    return std::nullopt;
  if (c.literal(" ")) {
    if (!c.digits(1, f.day)) return std::nullopt;
  } else if (!c.digits(2, f.day)) {
    return std::nullopt;
  }
  if (!(c.literal(" ") && c.time_of_day(f.hour, f.minute, f.second) && c.literal(" ") &&
        c.digits(4, year) && c.done()))
    return std::nullopt;
  f.month += 1;
  f.year = year;
  return to_time(f);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void format_http_date(std::time_t t, std::span<char, kHttpDateLength> out) {
  const auto secs = static_cast<std::int64_t>(t);
  std::int64_t days = secs / kSecondsPerDay;
  std::int64_t rem = secs % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    days -= 1;
  }
  // 0000-01-01 .. 9999-12-31 23:59:59: the only years four digits can hold.
  constexpr std::int64_t kMinDays = days_from_civil(0, 1, 1);
  constexpr std::int64_t kMaxDays = days_from_civil(9999, 12, 31);
  if (days < kMinDays) {
    days = kMinDays;
    rem = 0;
  } else if (days > kMaxDays) {
    days = kMaxDays;
    rem = kSecondsPerDay - 1;
  }
  const Civil c = civil_from_days(days);
  // 1970-01-01 was a Thursday (index 4).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 11) % 7);
  const auto year = static_cast<unsigned>(c.year);
  const auto sod = static_cast<unsigned>(rem);

  char* p = out.data();
  const std::string_view day_name = kDayNames[weekday];
  const std::string_view month_name = kMonthNames[c.month - 1];
  p[0] = day_name[0];
  p[1] = day_name[1];
  p[2] = day_name[2];
  p[3] = ',';
  p[4] = ' ';
  put2(p + 5, c.day);
  p[7] = ' ';
  p[8] = month_name[0];
  p[9] = month_name[1];
  p[10] = month_name[2];
  p[11] = ' ';
  put2(p + 12, year / 100);
  put2(p + 14, year % 100);
  p[16] = ' ';
  put2(p + 17, sod / 3600);
  p[19] = ':';
  put2(p + 20, sod / 60 % 60);
  p[22] = ':';
  put2(p + 23, sod % 60);
  p[25] = ' ';
  p[26] = 'G';
  p[27] = 'M';
  p[28] = 'T';
}

std::string format_http_date(std::time_t t) {
  std::string s(kHttpDateLength, '\0');
  format_http_date(t, std::span<char, kHttpDateLength>(s.data(), kHttpDateLength));
  return s;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  text = trim(text);
  if (text.size() < 4) return std::nullopt;
  // The character after the weekday tells the forms apart: ',' at 3 is IMF-fixdate, a space at
  // 3 is asctime, anything else must be RFC 850's long weekday.
  if (text[3] == ',') return parse_imf_fixdate(text);
  if (text[3] == ' ') return parse_asctime(text);
  return parse_rfc850(text);
}

}  // namespace serverd
