#include "http/variables.hpp"

#include <boost/test/unit_test.hpp>

#include "../modules/module_test_support.hpp"

namespace serverd {
namespace {

using test::TestRequest;

BOOST_AUTO_TEST_SUITE(variables)

BOOST_AUTO_TEST_CASE(request_line_variables) {
  TestRequest tr("POST", "/a%20b/c?x=1&y=2");
  tr.set_path("/a b/c").set_host("example.com");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$request_uri", r, "http") == "/a%20b/c?x=1&y=2");
  BOOST_TEST(expand_variables("$uri", r, "http") == "/a b/c");
  BOOST_TEST(expand_variables("$args", r, "http") == "x=1&y=2");
  BOOST_TEST(expand_variables("$query_string", r, "http") == "x=1&y=2");
  BOOST_TEST(expand_variables("$uri$is_args$args", r, "http") == "/a b/c?x=1&y=2");
  BOOST_TEST(expand_variables("$request_method", r, "http") == "POST");
  BOOST_TEST(expand_variables("$server_protocol", r, "http") == "HTTP/1.1");
}

BOOST_AUTO_TEST_CASE(is_args_is_empty_without_query) {
  TestRequest tr("GET", "/x");
  BOOST_TEST(expand_variables("$uri$is_args$args", tr.get(), "http") == "/x");
}

BOOST_AUTO_TEST_CASE(redirect_template) {
  TestRequest tr("GET", "/old/page?q=1");
  tr.set_host("example.com");
  BOOST_TEST(expand_variables("https://$host$request_uri", tr.get(), "http") ==
             "https://example.com/old/page?q=1");
  BOOST_TEST(expand_variables("$scheme://$host:$server_port$uri", tr.get(), "https") ==
             "https://example.com:8080/old/page");
}

BOOST_AUTO_TEST_CASE(host_falls_back_to_local_address) {
  TestRequest tr("GET", "/");  // an HTTP/1.0 request without Host
  BOOST_TEST(expand_variables("$host", tr.get(), "http") == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(addresses) {
  TestRequest tr("GET", "/");
  BOOST_TEST(expand_variables("$remote_addr:$remote_port", tr.get(), "http") == "192.0.2.7:51000");
  BOOST_TEST(expand_variables("$server_addr:$server_port", tr.get(), "http") == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(http_headers_match_case_insensitively_with_underscores) {
  TestRequest tr("GET", "/");
  tr.header("User-Agent", "curl/7.88").header("X-Real-IP", "10.0.0.1").header("x-dup", "first");
  tr.header("X-Dup", "second");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$http_user_agent", r, "http") == "curl/7.88");
  BOOST_TEST(expand_variables("$http_x_real_ip", r, "http") == "10.0.0.1");
  BOOST_TEST(expand_variables("$http_X_Real_Ip", r, "http") == "10.0.0.1");
  // Variable names themselves are case-sensitive, as in nginx.
  BOOST_TEST(expand_variables("$HTTP_X_REAL_IP", r, "http") == "$HTTP_X_REAL_IP");
  // The first of repeated headers.
  BOOST_TEST(expand_variables("$http_x_dup", r, "http") == "first");
  BOOST_TEST(expand_variables("[$http_missing]", r, "http") == "[]");
}

BOOST_AUTO_TEST_CASE(braced_form) {
  TestRequest tr("GET", "/p?a=b");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("${uri}x", r, "http") == "/px");
  BOOST_TEST(expand_variables("$urix", r, "http") == "$urix");  // no such variable
  BOOST_TEST(expand_variables("${args}${args}", r, "http") == "a=ba=b");
}

BOOST_AUTO_TEST_CASE(unknown_and_malformed_references_are_kept) {
  TestRequest tr("GET", "/p");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$nope/$uri", r, "http") == "$nope//p");
  BOOST_TEST(expand_variables("${nope}", r, "http") == "${nope}");
  BOOST_TEST(expand_variables("${uri", r, "http") == "${uri");
  BOOST_TEST(expand_variables("${}", r, "http") == "${}");
  BOOST_TEST(expand_variables("${u-ri}", r, "http") == "${u-ri}");
  BOOST_TEST(expand_variables("cost: 5$", r, "http") == "cost: 5$");
  BOOST_TEST(expand_variables("$ $-", r, "http") == "$ $-");
  BOOST_TEST(expand_variables("$$uri", r, "http") == "$/p");
  BOOST_TEST(expand_variables("$http_", r, "http") == "$http_");
  BOOST_TEST(expand_variables("plain text", r, "http") == "plain text");
  BOOST_TEST(expand_variables("", r, "http") == "");
}

BOOST_AUTO_TEST_CASE(append_expanded_appends) {
  TestRequest tr("GET", "/p");
  std::string out = "x=";
  append_expanded(out, "$uri", tr.get(), "http");
  BOOST_TEST(out == "x=/p");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
