#include "core/units.hpp"

#include <boost/test/unit_test.hpp>

using serverd::Duration;

namespace {
// Milliseconds, or -1 when the text is rejected (Boost.Test cannot print an optional).
long long ms(std::string_view text) {
  auto d = serverd::parse_duration(text);
  return d ? d->count() : -1;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(units)

BOOST_AUTO_TEST_CASE(every_duration_unit) {
  BOOST_TEST(ms("500ms") == 500);
  BOOST_TEST(ms("30s") == 30'000);
  BOOST_TEST(ms("5m") == 300'000);
  BOOST_TEST(ms("1h") == 3'600'000);
  BOOST_TEST(ms("1d") == 86'400'000);
  BOOST_TEST(ms("0s") == 0);
}

BOOST_AUTO_TEST_CASE(bad_durations) {
  for (const char* text : {"", "30", "0", "s", "5x", "1.5s", "-1s", "+1s", " 1s", "1s ", "1 s",
                           "1S", "1sec", "1ms5", "1m30s", "ms"}) {
    BOOST_TEST_INFO("text: \"" << text << '"');
    BOOST_TEST(!serverd::parse_duration(text).has_value());
  }
}

BOOST_AUTO_TEST_CASE(duration_overflow) {
  // int64 milliseconds hold about 106751991167 days.
  BOOST_TEST(serverd::parse_duration("106751991167d").has_value());
  BOOST_TEST(!serverd::parse_duration("106751991168d").has_value());
  BOOST_TEST(!serverd::parse_duration("9223372036854775808ms").has_value());
  BOOST_TEST(!serverd::parse_duration("99999999999999999999999s").has_value());
  BOOST_TEST(ms("9223372036854775807ms") == 9'223'372'036'854'775'807);
}

BOOST_AUTO_TEST_CASE(every_size_unit) {
  BOOST_TEST(serverd::parse_size("512").value() == 512u);
  BOOST_TEST(serverd::parse_size("0").value() == 0u);
  BOOST_TEST(serverd::parse_size("16KiB").value() == 16u * 1024);
  BOOST_TEST(serverd::parse_size("100MiB").value() == 100u * 1024 * 1024);
  BOOST_TEST(serverd::parse_size("1GiB").value() == 1024u * 1024 * 1024);
  // nginx spellings are binary multiples too.
  BOOST_TEST(serverd::parse_size("16k").value() == 16u * 1024);
  BOOST_TEST(serverd::parse_size("16K").value() == 16u * 1024);
  BOOST_TEST(serverd::parse_size("1m").value() == 1024u * 1024);
  BOOST_TEST(serverd::parse_size("1M").value() == 1024u * 1024);
  BOOST_TEST(serverd::parse_size("1g").value() == 1024u * 1024 * 1024);
  BOOST_TEST(serverd::parse_size("1G").value() == 1024u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(bad_sizes) {
  for (const char* text : {"", "KiB", "10XB", "10kb", "10KB", "10 KiB", "1.5MiB", "-1", "+1",
                           "10kib", "10B", " 10", "0x10"}) {
    BOOST_TEST_INFO("text: \"" << text << '"');
    BOOST_TEST(!serverd::parse_size(text).has_value());
  }
}

BOOST_AUTO_TEST_CASE(size_overflow) {
  BOOST_TEST(serverd::parse_size("18446744073709551615").value() == 18446744073709551615u);
  BOOST_TEST(!serverd::parse_size("18446744073709551616").has_value());
  BOOST_TEST(serverd::parse_size("17179869183GiB").value() == 17179869183ull << 30);
  BOOST_TEST(!serverd::parse_size("17179869184GiB").has_value());
}

BOOST_AUTO_TEST_CASE(format_picks_largest_exact_unit) {
  BOOST_TEST(serverd::format_duration(Duration(30'000)) == "30s");
  BOOST_TEST(serverd::format_duration(Duration(90'000)) == "90s");
  BOOST_TEST(serverd::format_duration(Duration(120'000)) == "2m");
  BOOST_TEST(serverd::format_duration(Duration(1'500)) == "1500ms");
  BOOST_TEST(serverd::format_duration(Duration(7'200'000)) == "2h");
  BOOST_TEST(serverd::format_duration(Duration(172'800'000)) == "2d");
  BOOST_TEST(serverd::format_duration(Duration(0)) == "0s");
  BOOST_TEST(serverd::format_size(1536) == "1536");
  BOOST_TEST(serverd::format_size(16384) == "16KiB");
  BOOST_TEST(serverd::format_size(1024 * 1024) == "1MiB");
  BOOST_TEST(serverd::format_size(3ull << 30) == "3GiB");
  BOOST_TEST(serverd::format_size(0) == "0");
}

BOOST_AUTO_TEST_CASE(format_round_trips) {
  for (long long count : {0LL, 1LL, 999LL, 1000LL, 59'999LL, 60'000LL, 3'600'000LL, 86'400'000LL,
                          86'400'001LL, 9'223'372'036'854'775'807LL}) {
    BOOST_TEST_INFO("count: " << count);
    BOOST_TEST(ms(serverd::format_duration(Duration(count))) == count);
  }
  for (std::uint64_t bytes : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1023},
                              std::uint64_t{1024}, std::uint64_t{1025}, std::uint64_t{1} << 20,
                              (std::uint64_t{5} << 30) + 1024, ~std::uint64_t{0}}) {
    BOOST_TEST_INFO("bytes: " << bytes);
    BOOST_TEST(serverd::parse_size(serverd::format_size(bytes)).value() == bytes);
  }
}

BOOST_AUTO_TEST_SUITE_END()
