#include "modules/static/conditional.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "modules/static/etag.hpp"

namespace serverd {
namespace {

constexpr std::time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr const char* kMtimeText = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr const char* kOlder = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char* kNewer = "Sun, 06 Nov 1994 08:49:38 GMT";
const std::string kEtag = "\"2ebc98a1-1f4\"";  // make_etag(kMtime, 500)

std::string name(Precondition p) {
  switch (p) {
    case Precondition::proceed:
      return "proceed";
    case Precondition::not_modified:
      return "not_modified";
    case Precondition::failed:
      return "failed";
  }
  return "?";
}

std::string eval(const ConditionalHeaders& h, bool get_or_head = true) {
  return name(evaluate_preconditions(h, get_or_head, kEtag, kMtime));
}

BOOST_AUTO_TEST_SUITE(etag)

BOOST_AUTO_TEST_CASE(nginx_format) {
  BOOST_TEST(make_etag(kMtime, 500) == kEtag);
  BOOST_TEST(make_etag(0, 0) == "\"0-0\"");
  BOOST_TEST(make_etag(1700000000, 1048576) == "\"6553f100-100000\"");
}

BOOST_AUTO_TEST_CASE(list_matching) {
  using enum EtagCompare;
  BOOST_TEST(etag_list_matches(kEtag, kEtag, weak));
  BOOST_TEST(etag_list_matches(kEtag, kEtag, strong));
  BOOST_TEST(etag_list_matches("\"a\", " + kEtag, kEtag, weak));
  BOOST_TEST(etag_list_matches("\"a\",\"b\"," + kEtag + " ", kEtag, weak));
  BOOST_TEST(etag_list_matches("*", kEtag, strong));
  BOOST_TEST(etag_list_matches(" * ", kEtag, weak));
  BOOST_TEST(!etag_list_matches("\"a\", \"b\"", kEtag, weak));
  BOOST_TEST(!etag_list_matches("", kEtag, weak));
  // A comma inside a tag does not split it.
  BOOST_TEST(etag_list_matches("\"x,y\"", "\"x,y\"", strong));
  BOOST_TEST(!etag_list_matches("\"x,y\"", "\"x\"", weak));
}

BOOST_AUTO_TEST_CASE(weak_tags) {
  using enum EtagCompare;
  const std::string weak_tag = "W/" + kEtag;
  BOOST_TEST(etag_list_matches(weak_tag, kEtag, weak));
  BOOST_TEST(!etag_list_matches(weak_tag, kEtag, strong));
  BOOST_TEST(etag_list_matches(kEtag, weak_tag, weak));
  BOOST_TEST(!etag_list_matches(kEtag, weak_tag, strong));
  BOOST_TEST(!etag_list_matches("w/" + kEtag, kEtag, weak));  // "W/" is case-sensitive
}

BOOST_AUTO_TEST_CASE(malformed_members_never_match) {
  using enum EtagCompare;
  BOOST_TEST(!etag_list_matches("2ebc98a1-1f4", kEtag, weak));  // unquoted
  BOOST_TEST(!etag_list_matches("\"2ebc98a1-1f4", kEtag, weak));
  BOOST_TEST(etag_list_matches("garbage, " + kEtag, kEtag, weak));  // the rest still counts
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conditional)

BOOST_AUTO_TEST_CASE(no_conditions_proceed) {
  BOOST_TEST(eval({}) == "proceed");
}

BOOST_AUTO_TEST_CASE(if_none_match) {
  BOOST_TEST(eval({.if_none_match = kEtag}) == "not_modified");
  BOOST_TEST(eval({.if_none_match = "\"other\", " + kEtag}) == "not_modified");
  BOOST_TEST(eval({.if_none_match = "W/" + kEtag}) == "not_modified");  // weak comparison
  BOOST_TEST(eval({.if_none_match = "*"}) == "not_modified");
  BOOST_TEST(eval({.if_none_match = "\"other\""}) == "proceed");
  // Other methods fail the precondition instead of getting a 304.
  BOOST_TEST(eval({.if_none_match = kEtag}, false) == "failed");
}

BOOST_AUTO_TEST_CASE(if_modified_since) {
  BOOST_TEST(eval({.if_modified_since = kMtimeText}) == "not_modified");  // equal
  BOOST_TEST(eval({.if_modified_since = kNewer}) == "not_modified");
  BOOST_TEST(eval({.if_modified_since = kOlder}) == "proceed");
  BOOST_TEST(eval({.if_modified_since = "Sunday, 06-Nov-94 08:49:37 GMT"}) == "not_modified");
  BOOST_TEST(eval({.if_modified_since = "not a date"}) == "proceed");       // invalid: ignored
  BOOST_TEST(eval({.if_modified_since = kMtimeText}, false) == "proceed");  // GET/HEAD only
}

BOOST_AUTO_TEST_CASE(if_none_match_takes_precedence_over_if_modified_since) {
  // A changed tag means changed content even if the date says otherwise...
  BOOST_TEST(eval({.if_none_match = "\"other\"", .if_modified_since = kNewer}) == "proceed");
  // ...and a matching tag is enough even with an old date.
  BOOST_TEST(eval({.if_none_match = kEtag, .if_modified_since = kOlder}) == "not_modified");
}

BOOST_AUTO_TEST_CASE(if_match) {
  BOOST_TEST(eval({.if_match = kEtag}) == "proceed");
  BOOST_TEST(eval({.if_match = "*"}) == "proceed");
  BOOST_TEST(eval({.if_match = "\"other\""}) == "failed");
  BOOST_TEST(eval({.if_match = "W/" + kEtag}) == "failed");  // strong comparison
  // If-Match is evaluated first: its failure wins over a 304.
  BOOST_TEST(eval({.if_match = "\"other\"", .if_none_match = kEtag}) == "failed");
}

BOOST_AUTO_TEST_CASE(if_unmodified_since) {
  BOOST_TEST(eval({.if_unmodified_since = kMtimeText}) == "proceed");
  BOOST_TEST(eval({.if_unmodified_since = kNewer}) == "proceed");
  BOOST_TEST(eval({.if_unmodified_since = kOlder}) == "failed");
  BOOST_TEST(eval({.if_unmodified_since = "bogus"}) == "proceed");
  // Ignored when If-Match is present.
  BOOST_TEST(eval({.if_match = kEtag, .if_unmodified_since = kOlder}) == "proceed");
}

BOOST_AUTO_TEST_CASE(if_range) {
  BOOST_TEST(if_range_matches(kEtag, kEtag, kMtime));
  BOOST_TEST(if_range_matches(" " + kEtag + " ", kEtag, kMtime));
  BOOST_TEST(!if_range_matches("\"other\"", kEtag, kMtime));
  BOOST_TEST(!if_range_matches("W/" + kEtag, kEtag, kMtime));          // weak never matches
  BOOST_TEST(!if_range_matches(kEtag + ", " + kEtag, kEtag, kMtime));  // not a list
  BOOST_TEST(if_range_matches(kMtimeText, kEtag, kMtime));
  BOOST_TEST(!if_range_matches(kNewer, kEtag, kMtime));  // a date must be exactly equal
  BOOST_TEST(!if_range_matches(kOlder, kEtag, kMtime));
  BOOST_TEST(!if_range_matches("garbage", kEtag, kMtime));
  BOOST_TEST(!if_range_matches("", kEtag, kMtime));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
