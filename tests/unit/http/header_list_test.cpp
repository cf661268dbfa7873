#include "http/header_list.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using serverd::HeaderList;
using serverd::iequals;

namespace {

// "Name: value" per header, in order.
std::vector<std::string> items(const HeaderList& h) {
  std::vector<std::string> v;
  for (const auto& x : h) v.push_back(x.name + ": " + x.value);
  return v;
}

using Items = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(http_header_list)

BOOST_AUTO_TEST_CASE(iequals_folds_ascii_letters_only) {
  BOOST_TEST(iequals("", ""));
  BOOST_TEST(iequals("Content-Type", "content-type"));
  BOOST_TEST(iequals("CONTENT-LENGTH", "content-length"));
  BOOST_TEST(iequals("x-A1_b", "X-a1_B"));
  BOOST_TEST(!iequals("host", "hos"));
  BOOST_TEST(!iequals("", "a"));
  BOOST_TEST(!iequals("host", "hosT "));
  BOOST_TEST(!iequals("abc", "abd"));
  // Characters that differ only in bit 0x20 but are not letters must not compare equal.
  BOOST_TEST(!iequals("@", "`"));
  BOOST_TEST(!iequals("[", "{"));
  BOOST_TEST(!iequals("]", "}"));
  BOOST_TEST(!iequals("^", "~"));
  BOOST_TEST(!iequals("_", "\x7f"));
  BOOST_TEST(!iequals("-", "\r"));
  BOOST_TEST(!iequals("0", "\x10"));
  BOOST_TEST(!iequals("x-a", "x\ra"));
  // No locale-dependent folding of bytes >= 0x80 (Latin-1 "À" / "à").
  BOOST_TEST(!iequals("\xC0", "\xE0"));
  BOOST_TEST(iequals("\xC0", "\xC0"));
  // Embedded NULs are compared like any byte.
  BOOST_TEST(iequals(std::string_view("a\0b", 3), std::string_view("A\0B", 3)));
  BOOST_TEST(!iequals(std::string_view("a\0b", 3), std::string_view("a b", 3)));
}

BOOST_AUTO_TEST_CASE(add_keeps_order_and_duplicates) {
  HeaderList h;
  BOOST_TEST(h.empty());
  h.add("Set-Cookie", "a=1");
  h.add("Content-Type", "text/plain");
  h.add("set-cookie", "b=2");
  BOOST_TEST(!h.empty());
  BOOST_TEST(h.size() == 3u);
  BOOST_TEST(items(h) == (Items{"Set-Cookie: a=1", "Content-Type: text/plain", "set-cookie: b=2"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(find_is_case_insensitive_and_returns_the_first) {
  HeaderList h;
  h.add("X-Thing", "one");
  h.add("x-thing", "two");
  h.add("Content-Length", "42");
  const std::string* v = h.find("X-THING");
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(*v == "one");
  BOOST_REQUIRE(h.find("content-length") != nullptr);
  BOOST_TEST(*h.find("content-length") == "42");
  BOOST_TEST(h.find("Content-Lengt") == nullptr);
  BOOST_TEST(h.find("") == nullptr);
  BOOST_TEST(h.has("CONTENT-length"));
  BOOST_TEST(!h.has("Date"));
}

BOOST_AUTO_TEST_CASE(set_replaces_every_header_of_that_name) {
  HeaderList h;
  h.add("Cache-Control", "no-cache");
  h.add("Server", "other");
  h.add("cache-control", "private");
  h.set("CACHE-CONTROL", "max-age=60");
  BOOST_TEST(items(h) == (Items{"Server: other", "CACHE-CONTROL: max-age=60"}),
             boost::test_tools::per_element());
  BOOST_TEST(*h.find("cache-control") == "max-age=60");
  // set on a missing name adds it.
  h.set("Date", "x");
  BOOST_TEST(h.size() == 3u);
  BOOST_TEST(*h.find("date") == "x");
}

BOOST_AUTO_TEST_CASE(remove_drops_all_matches_and_keeps_the_rest_in_order) {
  HeaderList h;
  h.add("A", "1");
  h.add("Vary", "Accept");
  h.add("B", "2");
  h.add("VARY", "Origin");
  h.add("C", "3");
  h.remove("vary");
  BOOST_TEST(items(h) == (Items{"A: 1", "B: 2", "C: 3"}), boost::test_tools::per_element());
  h.remove("not-there");  // harmless
  BOOST_TEST(h.size() == 3u);
  // A name that is only a prefix is a different header.
  h.remove("A-");
  BOOST_TEST(h.has("a"));
  h.clear();
  BOOST_TEST(h.empty());
  BOOST_TEST(h.size() == 0u);
  BOOST_TEST(h.find("A") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
