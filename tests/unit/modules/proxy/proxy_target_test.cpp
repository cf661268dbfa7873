// proxy_pass parsing and the request target sent upstream, by nginx's rules.
#include "modules/proxy/proxy_target.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "../module_test_support.hpp"
#include "http/uri.hpp"

namespace serverd {
namespace {

using test::TestRequest;

ProxyTarget target(std::string_view text) {
  std::string error;
  auto t = parse_proxy_pass(text, &error);
  BOOST_REQUIRE_MESSAGE(t.has_value(), "parse_proxy_pass(\"" << text << "\"): " << error);
  return *t;
}

LocationConfig location(std::string path, MatchKind match = MatchKind::prefix) {
  LocationConfig l;
  l.path = std::move(path);
  l.match = match;
  return l;
}

// The upstream URI for a raw request target, with the path decoded and normalised the way the
// HTTP layer does it.
std::string mapped(std::string_view raw_target, const LocationConfig& loc, std::string_view pass) {
  TestRequest tr("GET", std::string(raw_target));
  SplitTarget split;
  BOOST_REQUIRE(split_target(raw_target, split));
  std::string path;
  BOOST_REQUIRE(normalize_path(split.path, path));
  tr.set_path(path);
  tr.get().query_ = std::string(split.query);
  return map_upstream_uri(tr.get(), loc, target(pass));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_target)

BOOST_AUTO_TEST_CASE(parses_names_addresses_and_uris) {
  ProxyTarget a = target("http://app");
  BOOST_TEST(a.scheme == "http");
  BOOST_TEST(a.authority == "app");
  BOOST_TEST(!a.has_uri);
  BOOST_TEST(a.uri.empty());

  ProxyTarget b = target("http://127.0.0.1:9000/");
  BOOST_TEST(b.authority == "127.0.0.1:9000");
  BOOST_TEST(b.has_uri);
  BOOST_TEST(b.uri == "/");

  ProxyTarget c = target("http://app/v1/");
  BOOST_TEST(c.authority == "app");
  BOOST_TEST(c.uri == "/v1/");

  ProxyTarget d = target("http://[::1]:8080/x");
  BOOST_TEST(d.authority == "[::1]:8080");
  BOOST_TEST(d.uri == "/x");
}

BOOST_AUTO_TEST_CASE(rejects_malformed_targets_with_a_reason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"", "must start with \"http://\" or \"https://\""},
      {"app", "must start with \"http://\" or \"https://\""},
      {"ftp://app", "must start with \"http://\" or \"https://\""},
      {"http:/app", "must start with \"http://\" or \"https://\""},
      {"http://", "has no host or upstream name"},
      {"http:///v1/", "has no host or upstream name"},
      {"http://user@app", "has an invalid host or upstream name"},
      {"http://app?x=1", "has an invalid host or upstream name"},
      {"http://app#frag", "has an invalid host or upstream name"},
      {"http://my app", "has an invalid host or upstream name"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("proxy_pass \"" << c.text << "\"") {
      std::string error;
      auto t = parse_proxy_pass(c.text, &error);
      BOOST_TEST(!t.has_value());
      BOOST_TEST(error == c.reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(without_uri_part_the_raw_target_goes_as_received) {
  const LocationConfig loc = location("/api/");
  BOOST_TEST(mapped("/api/x?q=1", loc, "http://app") == "/api/x?q=1");
  // Not decoded, not normalised, not re-encoded: byte for byte.
  BOOST_TEST(mapped("/api/a%20b/../c//d?x=%41&y", loc, "http://app") ==
             "/api/a%20b/../c//d?x=%41&y");
  BOOST_TEST(mapped("/api/%7Euser/%2F", loc, "http://127.0.0.1:9000") == "/api/%7Euser/%2F");
}

BOOST_AUTO_TEST_CASE(absolute_form_target_goes_in_origin_form) {
  const LocationConfig loc = location("/");
  TestRequest tr("GET", "http://example.com:8080/p/q?x=1");
  tr.set_path("/p/q");
  tr.get().query_ = "x=1";
  BOOST_TEST(map_upstream_uri(tr.get(), loc, target("http://app")) == "/p/q?x=1");
}

BOOST_AUTO_TEST_CASE(uri_part_replaces_the_matched_prefix) {
  const LocationConfig api = location("/api/");
  BOOST_TEST(mapped("/api/x?q", api, "http://app/v1/") == "/v1/x?q");
  BOOST_TEST(mapped("/api/x/y?a=1&b=2", api, "http://app/v1/") == "/v1/x/y?a=1&b=2");
  BOOST_TEST(mapped("/api/", api, "http://app/v1/") == "/v1/");
  BOOST_TEST(mapped("/api/x", api, "http://app/") == "/x");
  BOOST_TEST(mapped("/api/x", api, "http://app/v1") == "/v1x");  // nginx does exactly this

  const LocationConfig noslash = location("/api");
  BOOST_TEST(mapped("/api/x", noslash, "http://app/v1") == "/v1/x");
  BOOST_TEST(mapped("/apix", noslash, "http://app/v1") == "/v1x");

  const LocationConfig priority = location("/static/", MatchKind::priority_prefix);
  BOOST_TEST(mapped("/static/app.js?v=3", priority, "http://app/assets/") == "/assets/app.js?v=3");
}

BOOST_AUTO_TEST_CASE(uri_part_uses_the_normalised_path) {
  const LocationConfig api = location("/api/");
  BOOST_TEST(mapped("/api/a/../b//c/./d", api, "http://app/v1/") == "/v1/b/c/d");
  // The raw query is kept as sent.
  BOOST_TEST(mapped("/api/x?a=%20b&c", api, "http://app/v1/") == "/v1/x?a=%20b&c");
}

BOOST_AUTO_TEST_CASE(exact_location_maps_to_the_uri) {
  const LocationConfig login = location("/login", MatchKind::exact);
  BOOST_TEST(mapped("/login", login, "http://app/auth/login") == "/auth/login");
  BOOST_TEST(mapped("/login?next=%2Fhome", login, "http://app/auth/login") ==
             "/auth/login?next=%2Fhome");
}

BOOST_AUTO_TEST_CASE(decoded_path_is_encoded_again) {
  const LocationConfig api = location("/api/");
  // Spaces, non-ASCII (UTF-8 bytes), and characters that would change the meaning of the
  // target ('?', '#', '%') are escaped; unreserved ones are not.
  BOOST_TEST(mapped("/api/a%20b", api, "http://app/v1/") == "/v1/a%20b");
  BOOST_TEST(mapped("/api/caf%C3%A9", api, "http://app/v1/") == "/v1/caf%C3%A9");
  BOOST_TEST(mapped("/api/what%3F", api, "http://app/v1/") == "/v1/what%3F");
  BOOST_TEST(mapped("/api/a%23b", api, "http://app/v1/") == "/v1/a%23b");
  BOOST_TEST(mapped("/api/100%25", api, "http://app/v1/") == "/v1/100%25");
  BOOST_TEST(mapped("/api/%7Euser-1._x", api, "http://app/v1/") == "/v1/~user-1._x");
}

BOOST_AUTO_TEST_CASE(append_encoded_path_escapes_what_cannot_appear_raw) {
  std::string out = "/pre";
  append_encoded_path(out,
                      std::string_view("/a b\t\x01\x7f\xff\"<>\\^`{|}?#%/ok-_.~!$&'()*+,;=:@", 40));
  BOOST_TEST(out ==
             "/pre/a%20b%09%01%7F%FF%22%3C%3E%5C%5E%60%7B%7C%7D%3F%23%25/ok-_.~!$&'()*+,;=:@");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
