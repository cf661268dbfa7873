#include "modules/static/range.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

namespace serverd {
namespace {

using Kind = ByteRange::Kind;

// Compared as text so that a failure prints which kind came out.
std::string name(Kind kind) {
  switch (kind) {
    case Kind::ignore:
      return "ignore";
    case Kind::satisfiable:
      return "satisfiable";
    case Kind::unsatisfiable:
      return "unsatisfiable";
  }
  return "?";
}

void check_range(std::string_view header, std::uint64_t size, std::uint64_t first,
                 std::uint64_t last) {
  BOOST_TEST_CONTEXT("Range: " << header << " (size " << size << ")") {
    const ByteRange r = parse_range(header, size);
    BOOST_TEST(name(r.kind) == "satisfiable");
    BOOST_TEST(r.first == first);
    BOOST_TEST(r.last == last);
    BOOST_TEST(r.length() == last - first + 1);
  }
}

void check_kind(std::string_view header, std::uint64_t size, Kind kind) {
  BOOST_TEST_CONTEXT("Range: " << header << " (size " << size << ")") {
    BOOST_TEST(name(parse_range(header, size).kind) == name(kind));
  }
}

BOOST_AUTO_TEST_SUITE(parse_range_header)

BOOST_AUTO_TEST_CASE(first_last) {
  check_range("bytes=0-99", 1000, 0, 99);
  check_range("bytes=100-199", 1000, 100, 199);
  check_range("bytes=0-0", 1000, 0, 0);  // the first byte only
  check_range("bytes=999-999", 1000, 999, 999);
}

BOOST_AUTO_TEST_CASE(last_beyond_size_is_clamped) {
  check_range("bytes=500-5000", 1000, 500, 999);
  check_range("bytes=0-18446744073709551615", 10, 0, 9);
  check_range("bytes=0-99999999999999999999999", 10, 0, 9);  // more than 64 bits
}

BOOST_AUTO_TEST_CASE(open_ended) {
  check_range("bytes=0-", 1000, 0, 999);
  check_range("bytes=990-", 1000, 990, 999);
}

BOOST_AUTO_TEST_CASE(suffix) {
  check_range("bytes=-100", 1000, 900, 999);
  check_range("bytes=-1", 1000, 999, 999);
  check_range("bytes=-1000", 1000, 0, 999);
  check_range("bytes=-5000", 1000, 0, 999);  // longer than the file: all of it
}

BOOST_AUTO_TEST_CASE(unsatisfiable) {
  check_kind("bytes=1000-", 1000, Kind::unsatisfiable);
  check_kind("bytes=1000-1001", 1000, Kind::unsatisfiable);
  check_kind("bytes=5000-6000", 1000, Kind::unsatisfiable);
  check_kind("bytes=-0", 1000, Kind::unsatisfiable);
  check_kind("bytes=0-", 0, Kind::unsatisfiable);  // nothing to send from an empty file
  check_kind("bytes=-10", 0, Kind::unsatisfiable);
  check_kind("bytes=99999999999999999999999-", 10, Kind::unsatisfiable);
}

BOOST_AUTO_TEST_CASE(whitespace_and_unit_case) {
  check_range("  bytes=1-2 ", 10, 1, 2);
  check_range("Bytes=1-2", 10, 1, 2);
  check_range("bytes= 1-2", 10, 1, 2);
}

BOOST_AUTO_TEST_CASE(garbage_is_ignored) {
  for (const char* h : {"", "bytes", "bytes=", "bytes=-", "bytes=abc", "bytes=1-abc", "bytes=a-1",
                        "bytes=5-1", "bytes=1 - 2", "bytes=1-2x", "bytes=--1", "bytes=+1-2",
                        "items=0-1", "bytes 0-1", "bytes=0x10-0x20", "bytes=-1-2"}) {
    check_kind(h, 1000, Kind::ignore);
  }
}

BOOST_AUTO_TEST_CASE(multiple_ranges_are_ignored) {
  check_kind("bytes=0-1,5-6", 1000, Kind::ignore);
  check_kind("bytes=0-1, 5-6", 1000, Kind::ignore);
  check_kind("bytes=0-1,", 1000, Kind::ignore);
  check_kind("bytes=-1,-2", 1000, Kind::ignore);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
