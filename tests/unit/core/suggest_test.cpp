#include "core/suggest.hpp"

#include <array>
#include <boost/test/unit_test.hpp>

using serverd::edit_distance;
using serverd::suggest;

namespace {
constexpr std::array<std::string_view, 6> kKeys{"listen",       "server_name", "location",
                                                "send_timeout", "root",        "tls"};
}

BOOST_AUTO_TEST_SUITE(suggest_hint)

BOOST_AUTO_TEST_CASE(distance_counts_edits_and_swaps) {
  BOOST_TEST(edit_distance("listen", "listen") == 0u);
  BOOST_TEST(edit_distance("listn", "listen") == 1u);
  BOOST_TEST(edit_distance("lsiten", "listen") == 1u);  // adjacent swap
  BOOST_TEST(edit_distance("lisxen", "listen") == 1u);
  BOOST_TEST(edit_distance("", "abc") == 3u);
  BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
}

BOOST_AUTO_TEST_CASE(suggests_close_keys_only) {
  BOOST_TEST(suggest("listn", kKeys).value_or("-") == "listen");
  BOOST_TEST(suggest("servr_nme", kKeys).value_or("-") == "server_name");
  BOOST_TEST(suggest("Listen", kKeys).value_or("-") == "listen");
  BOOST_TEST(suggest("TLS", kKeys).value_or("-") == "tls");
  BOOST_TEST(suggest("rot", kKeys).value_or("-") == "root");
  // Too far, or too short to tell a typo from a different word.
  BOOST_TEST(!suggest("frobnicate", kKeys).has_value());
  BOOST_TEST(!suggest("ab", kKeys).has_value());
  BOOST_TEST(!suggest("lstn", kKeys).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
