#include "http/uri.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

using serverd::normalize_path;
using serverd::parse_host;
using serverd::split_target;
using serverd::SplitTarget;

namespace {

// "<rejected>" when normalize_path fails, else the normalized path.
std::string norm(std::string_view raw) {
  std::string out = "garbage from before";
  if (!normalize_path(raw, out)) return "<rejected>";
  return out;
}

std::string host(std::string_view value) {
  std::string out = "garbage from before";
  if (!parse_host(value, out)) return "<rejected>";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_uri)

BOOST_AUTO_TEST_CASE(normalize_keeps_plain_paths) {
  BOOST_TEST(norm("/") == "/");
  BOOST_TEST(norm("/index.html") == "/index.html");
  BOOST_TEST(norm("/a/b/c") == "/a/b/c");
  BOOST_TEST(norm("/a/b/") == "/a/b/");  // trailing slash kept
  BOOST_TEST(norm("/a-b_c~d.e") == "/a-b_c~d.e");
}

BOOST_AUTO_TEST_CASE(normalize_percent_decodes) {
  BOOST_TEST(norm("/a%20b/c") == "/a b/c");
  BOOST_TEST(norm("/%41%42%43") == "/ABC");
  BOOST_TEST(norm("/%7e%7E") == "/~~");  // both hex cases
  BOOST_TEST(norm("/%25") == "/%");      // decoded once only
  BOOST_TEST(norm("/%2541") == "/%41");
  BOOST_TEST(norm("/caf%C3%A9") == "/caf\xC3\xA9");
  // An encoded slash splits segments, as in nginx.
  BOOST_TEST(norm("/a%2Fb") == "/a/b");
  BOOST_TEST(norm("/a%2f%2fb") == "/a/b");
}

BOOST_AUTO_TEST_CASE(normalize_merges_slashes) {
  BOOST_TEST(norm("//") == "/");
  BOOST_TEST(norm("//a") == "/a");
  BOOST_TEST(norm("/a//b///c") == "/a/b/c");
  BOOST_TEST(norm("/a//") == "/a/");
}

BOOST_AUTO_TEST_CASE(normalize_resolves_dot_segments) {
  BOOST_TEST(norm("/.") == "/");
  BOOST_TEST(norm("/./") == "/");
  BOOST_TEST(norm("/a/./b") == "/a/b");
  BOOST_TEST(norm("/a/.") == "/a/");
  BOOST_TEST(norm("/a/b/../c") == "/a/c");
  BOOST_TEST(norm("/a/b/..") == "/a/");
  BOOST_TEST(norm("/a/b/../") == "/a/");
  BOOST_TEST(norm("/a/..") == "/");
  BOOST_TEST(norm("/a/b/../..") == "/");
  BOOST_TEST(norm("/a/b/c/../../d/./e/") == "/a/d/e/");
  BOOST_TEST(norm("/a/%2e/b") == "/a/b");
  BOOST_TEST(norm("/a/b/%2E%2e/c") == "/a/c");
  BOOST_TEST(norm("/a/..%2fb") == "/b");
  // Not dot segments: names that merely contain dots.
  BOOST_TEST(norm("/..a") == "/..a");
  BOOST_TEST(norm("/a..") == "/a..");
  BOOST_TEST(norm("/...") == "/...");
  BOOST_TEST(norm("/.hidden/x") == "/.hidden/x");
}

BOOST_AUTO_TEST_CASE(normalize_rejects_climbing_above_root) {
  BOOST_TEST(norm("/..") == "<rejected>");
  BOOST_TEST(norm("/../") == "<rejected>");
  BOOST_TEST(norm("/../etc/passwd") == "<rejected>");
  BOOST_TEST(norm("/%2e%2e/x") == "<rejected>");
  BOOST_TEST(norm("/%2E%2E/x") == "<rejected>");
  BOOST_TEST(norm("/.%2e/x") == "<rejected>");
  BOOST_TEST(norm("/a/../../x") == "<rejected>");
  BOOST_TEST(norm("/a/b/../../../x") == "<rejected>");
  BOOST_TEST(norm("/a%2f..%2f..%2fx") == "<rejected>");
  BOOST_TEST(norm("/./..") == "<rejected>");
}

BOOST_AUTO_TEST_CASE(normalize_rejects_nul_and_bad_escapes) {
  BOOST_TEST(norm("/%00") == "<rejected>");
  BOOST_TEST(norm("/a%00.html") == "<rejected>");
  BOOST_TEST(norm(std::string_view("/a\0b", 4)) == "<rejected>");
  BOOST_TEST(norm("/%zz") == "<rejected>");
  BOOST_TEST(norm("/%4") == "<rejected>");
  BOOST_TEST(norm("/a%4") == "<rejected>");
  BOOST_TEST(norm("/%") == "<rejected>");
  BOOST_TEST(norm("/%g1") == "<rejected>");
  BOOST_TEST(norm("/%1g") == "<rejected>");
  BOOST_TEST(norm("/%%41") == "<rejected>");
}

BOOST_AUTO_TEST_CASE(normalize_requires_a_leading_slash) {
  BOOST_TEST(norm("") == "<rejected>");
  BOOST_TEST(norm("a/b") == "<rejected>");
  BOOST_TEST(norm("%2Fa") == "<rejected>");
}

BOOST_AUTO_TEST_CASE(split_origin_form) {
  SplitTarget t;
  BOOST_REQUIRE(split_target("/a/b?x=1&y=2", t));
  BOOST_TEST(t.host == "");
  BOOST_TEST(t.path == "/a/b");
  BOOST_TEST(t.query == "x=1&y=2");

  BOOST_REQUIRE(split_target("/plain", t));
  BOOST_TEST(t.path == "/plain");
  BOOST_TEST(t.query == "");

  BOOST_REQUIRE(split_target("/?", t));
  BOOST_TEST(t.path == "/");
  BOOST_TEST(t.query == "");

  // Only the first '?' splits; the path stays raw (not decoded).
  BOOST_REQUIRE(split_target("/a%20b?q=a?b", t));
  BOOST_TEST(t.path == "/a%20b");
  BOOST_TEST(t.query == "q=a?b");
}

BOOST_AUTO_TEST_CASE(split_absolute_form) {
  SplitTarget t;
  BOOST_REQUIRE(split_target("http://Example.com:8080/p/q?x=1", t));
  BOOST_TEST(t.host == "Example.com:8080");
  BOOST_TEST(t.path == "/p/q");
  BOOST_TEST(t.query == "x=1");

  BOOST_REQUIRE(split_target("HTTPS://h", t));
  BOOST_TEST(t.host == "h");
  BOOST_TEST(t.path == "/");
  BOOST_TEST(t.query == "");

  BOOST_REQUIRE(split_target("http://h?x=1", t));
  BOOST_TEST(t.host == "h");
  BOOST_TEST(t.path == "/");
  BOOST_TEST(t.query == "x=1");

  BOOST_REQUIRE(split_target("http://[::1]:80/", t));
  BOOST_TEST(t.host == "[::1]:80");
  BOOST_TEST(t.path == "/");
}

BOOST_AUTO_TEST_CASE(split_rejects_other_forms) {
  SplitTarget t;
  BOOST_TEST(!split_target("*", t));                // OPTIONS * form
  BOOST_TEST(!split_target("example.com:443", t));  // authority form (CONNECT)
  BOOST_TEST(!split_target("", t));
  BOOST_TEST(!split_target("ftp://h/x", t));
  BOOST_TEST(!split_target("http:///x", t));  // empty authority
  BOOST_TEST(!split_target("http://", t));
  BOOST_TEST(!split_target("a/b", t));
}

BOOST_AUTO_TEST_CASE(host_folds_case_and_strips_port) {
  BOOST_TEST(host("example.com") == "example.com");
  BOOST_TEST(host("Example.COM:8080") == "example.com");
  BOOST_TEST(host("EXAMPLE.COM") == "example.com");
  BOOST_TEST(host("localhost:80") == "localhost");
  BOOST_TEST(host("127.0.0.1:8080") == "127.0.0.1");
  BOOST_TEST(host("a-b_c~d.example") == "a-b_c~d.example");
  BOOST_TEST(host("example.com:") == "example.com");  // empty port, as nginx accepts
}

BOOST_AUTO_TEST_CASE(host_trailing_dot_is_the_same_name) {
  BOOST_TEST(host("example.com.") == "example.com");
  BOOST_TEST(host("Example.COM.:443") == "example.com");
}

BOOST_AUTO_TEST_CASE(host_ipv6_literal) {
  BOOST_TEST(host("[::1]") == "[::1]");
  BOOST_TEST(host("[::1]:8080") == "[::1]");
  BOOST_TEST(host("[2001:db8::7]") == "[2001:db8::7]");
  BOOST_TEST(host("[::ffff:127.0.0.1]:80") == "[::ffff:127.0.0.1]");
}

BOOST_AUTO_TEST_CASE(host_rejects_invalid) {
  BOOST_TEST(host("") == "<rejected>");
  BOOST_TEST(host(":80") == "<rejected>");
  BOOST_TEST(host("exa mple.com") == "<rejected>");
  BOOST_TEST(host("a/b") == "<rejected>");
  BOOST_TEST(host("../etc") == "<rejected>");
  BOOST_TEST(host("user@example.com") == "<rejected>");
  BOOST_TEST(host("example.com:80x") == "<rejected>");
  BOOST_TEST(host("example.com:8:0") == "<rejected>");
  BOOST_TEST(host("ex%41mple.com") == "<rejected>");
  BOOST_TEST(host("a\r\nX-Injected: 1") == "<rejected>");
  BOOST_TEST(host(std::string_view("a\0b", 3)) == "<rejected>");
  BOOST_TEST(host("\xC3\xA9.com") == "<rejected>");
  BOOST_TEST(host("[::1") == "<rejected>");
  BOOST_TEST(host("[::1]x") == "<rejected>");
  BOOST_TEST(host("[::1]]") == "<rejected>");
  BOOST_TEST(host("[::g]") == "<rejected>");
  BOOST_TEST(host("[fe80::1%eth0]") == "<rejected>");
}

BOOST_AUTO_TEST_SUITE_END()

// Regression tests for bugs found in Host parsing (fixed).
BOOST_AUTO_TEST_SUITE(http_uri_regressions)

// Was a bug (parse_host): the header says the host is returned lower-cased, and it is for names,
// but an IPv6 literal is copied as is: "Host: [::ABCD]" gives "[::ABCD]", so it never equals the
// lower-case server_name "[::abcd]" (nginx lower-cases the whole host).
BOOST_AUTO_TEST_CASE(host_ipv6_literal_is_lower_cased) {
  BOOST_TEST(host("[::ABCD]:80") == "[::abcd]");
  BOOST_TEST(host("[2001:DB8::1]") == "[2001:db8::1]");
}

// Was a bug (parse_host): nginx rejects a Host with an empty label ("..") with 400; here "a..b" is
// accepted and ".." becomes "." (trailing-dot stripping), so $host can be "." or contain "..".
BOOST_AUTO_TEST_CASE(host_with_empty_label_is_rejected) {
  BOOST_TEST(host("a..b") == "<rejected>");
  BOOST_TEST(host("..") == "<rejected>");
}

BOOST_AUTO_TEST_SUITE_END()
