#include "http/http_date.hpp"

#include <array>
#include <boost/test/unit_test.hpp>
#include <limits>

namespace serverd {
namespace {

// RFC 9110's own example instant.
constexpr std::time_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

BOOST_AUTO_TEST_SUITE(http_date)

BOOST_AUTO_TEST_CASE(formats_imf_fixdate) {
  BOOST_TEST(format_http_date(kRfcExample) == "Sun, 06 Nov 1994 08:49:37 GMT");
  BOOST_TEST(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  // Leap day, a year divisible by 400, and the last second of a year.
  BOOST_TEST(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  BOOST_TEST(format_http_date(1704067199) == "Sun, 31 Dec 2023 23:59:59 GMT");
  // Past 2038: time_t is 64-bit here and the arithmetic must not wrap.
  BOOST_TEST(format_http_date(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(formats_before_epoch) {
  BOOST_TEST(format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
  BOOST_TEST(format_http_date(-86400 * 365) == "Wed, 01 Jan 1969 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(clamps_years_four_digits_cannot_hold) {
  BOOST_TEST(format_http_date(std::numeric_limits<std::time_t>::max()) ==
             "Fri, 31 Dec 9999 23:59:59 GMT");
}

BOOST_AUTO_TEST_CASE(formats_into_a_fixed_buffer) {
  std::array<char, kHttpDateLength + 1> buf{};
  buf.back() = '#';  // a sentinel: exactly 29 bytes are written, no terminator
  format_http_date(kRfcExample, std::span<char, kHttpDateLength>(buf.data(), kHttpDateLength));
  BOOST_TEST(std::string_view(buf.data(), kHttpDateLength) == "Sun, 06 Nov 1994 08:49:37 GMT");
  BOOST_TEST(buf.back() == '#');
}

BOOST_AUTO_TEST_CASE(parses_all_three_forms) {
  BOOST_TEST(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").value_or(-1) == kRfcExample);
  BOOST_TEST(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").value_or(-1) == kRfcExample);
  BOOST_TEST(parse_http_date("Sun Nov  6 08:49:37 1994").value_or(-1) == kRfcExample);
  BOOST_TEST(parse_http_date("Thu Nov 10 08:49:37 1994").value_or(-1) == kRfcExample + 4 * 86400);
}

BOOST_AUTO_TEST_CASE(rfc850_two_digit_years_pivot_at_70) {
  BOOST_TEST(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT").value_or(-1) == 0);
  BOOST_TEST(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT").value_or(-1) == 946684800);
  BOOST_TEST(parse_http_date("Sunday, 31-Dec-23 23:59:59 GMT").value_or(-1) == 1704067199);
}

BOOST_AUTO_TEST_CASE(ignores_surrounding_whitespace_and_name_case) {
  BOOST_TEST(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT\t").value_or(-1) == kRfcExample);
  BOOST_TEST(parse_http_date("sun, 06 NOV 1994 08:49:37 gmt").value_or(-1) == kRfcExample);
}

BOOST_AUTO_TEST_CASE(rejects_invalid_input) {
  for (const char* bad : {
           "",
           "Sun",
           "garbage",
           "Sun, 06 Nov 1994 08:49:37",          // no zone
           "Sun, 06 Nov 1994 08:49:37 UTC",      // only GMT is allowed
           "Sun, 06 Nov 1994 08:49:37 GMT x",    // trailing text
           "Sun, 6 Nov 1994 08:49:37 GMT",       // one-digit day in IMF-fixdate
           "Sun, 06 Nov 94 08:49:37 GMT",        // two-digit year in IMF-fixdate
           "Sun, 06 Foo 1994 08:49:37 GMT",      // month
           "Xyz, 06 Nov 1994 08:49:37 GMT",      // weekday
           "Sun, 31 Nov 1994 08:49:37 GMT",      // November has 30 days
           "Sun, 29 Feb 1900 08:49:37 GMT",      // 1900 is not a leap year
           "Sun, 00 Nov 1994 08:49:37 GMT",      // day 0
           "Sun, 06 Nov 1994 24:00:00 GMT",      // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",      // minute
           "Sun, 06 Nov 1994 08:49:61 GMT",      // second
           "Sun, 06 Nov 1994 08-49-37 GMT",      // separators
           "Sun, 06 Nov 1994 08:49:37 GMT\r\n",  // CRLF is not whitespace here
           "Sunday, 06-Nov-1994 08:49:37 GMT",   // four-digit year in RFC 850
           "Sun Nov 6 08:49:37 1994",            // asctime day must be padded to 2
           "Sun Nov  6 08:49:37 94",             // asctime year
           "1994-11-06T08:49:37Z",               // ISO 8601 is not an HTTP-date
           "784111777",
       }) {
    BOOST_TEST_CONTEXT("input: \"" << bad << "\"") {
      BOOST_TEST(!parse_http_date(bad).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(accepts_leap_day_in_leap_years) {
  BOOST_TEST(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT").value_or(-1) == 951782400);
  BOOST_TEST(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT").value_or(-1) == 1709208000);
}

BOOST_AUTO_TEST_CASE(round_trips) {
  // Every 1000003 seconds over ~100 years, plus edges: format then parse is the identity.
  for (std::time_t t = 0; t < 3'200'000'000; t += 1'000'003) {
    const std::string text = format_http_date(t);
    const auto back = parse_http_date(text);
    BOOST_TEST_REQUIRE(back.has_value(), text);
    BOOST_TEST_REQUIRE(*back == t, text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
