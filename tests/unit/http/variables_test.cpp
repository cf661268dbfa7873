#include "http/variables.hpp"

#include <boost/test/unit_test.hpp>

#include "../modules/module_test_support.hpp"
#include "../tls/tls_pair.hpp"

namespace serverd {
namespace {

using test::TestRequest;
using test::TlsPair;

BOOST_AUTO_TEST_SUITE(variables)

BOOST_AUTO_TEST_CASE(request_line_variables) {
  TestRequest tr("POST", "/a%20b/c?x=1&y=2");
  tr.set_path("/a b/c").set_host("example.com");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$request_uri", r) == "/a%20b/c?x=1&y=2");
  BOOST_TEST(expand_variables("$uri", r) == "/a b/c");
  BOOST_TEST(expand_variables("$args", r) == "x=1&y=2");
  BOOST_TEST(expand_variables("$query_string", r) == "x=1&y=2");
  BOOST_TEST(expand_variables("$uri$is_args$args", r) == "/a b/c?x=1&y=2");
  BOOST_TEST(expand_variables("$request_method", r) == "POST");
  BOOST_TEST(expand_variables("$server_protocol", r) == "HTTP/1.1");
}

BOOST_AUTO_TEST_CASE(is_args_is_empty_without_query) {
  TestRequest tr("GET", "/x");
  BOOST_TEST(expand_variables("$uri$is_args$args", tr.get()) == "/x");
}

BOOST_AUTO_TEST_CASE(redirect_template) {
  TestRequest tr("GET", "/old/page?q=1");
  tr.set_host("example.com");
  BOOST_TEST(expand_variables("https://$host$request_uri", tr.get()) ==
             "https://example.com/old/page?q=1");
  BOOST_TEST(expand_variables("$scheme://$host:$server_port$uri", tr.get()) ==
             "http://example.com:8080/old/page");
  // On a TLS connection (the same template over a real handshake).
  TlsPair tls;
  tr.get().set_tls(tls.server.get());
  BOOST_TEST(expand_variables("$scheme://$host:$server_port$uri", tr.get()) ==
             "https://example.com:8080/old/page");
}

BOOST_AUTO_TEST_CASE(host_falls_back_to_local_address) {
  TestRequest tr("GET", "/");  // an HTTP/1.0 request without Host
  BOOST_TEST(expand_variables("$host", tr.get()) == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(addresses) {
  TestRequest tr("GET", "/");
  BOOST_TEST(expand_variables("$remote_addr:$remote_port", tr.get()) == "192.0.2.7:51000");
  BOOST_TEST(expand_variables("$server_addr:$server_port", tr.get()) == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(http_headers_match_case_insensitively_with_underscores) {
  TestRequest tr("GET", "/");
  tr.header("User-Agent", "curl/7.88").header("X-Real-IP", "10.0.0.1").header("x-dup", "first");
  tr.header("X-Dup", "second");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$http_user_agent", r) == "curl/7.88");
  BOOST_TEST(expand_variables("$http_x_real_ip", r) == "10.0.0.1");
  BOOST_TEST(expand_variables("$http_X_Real_Ip", r) == "10.0.0.1");
  // Variable names themselves are case-sensitive, as in nginx.
  BOOST_TEST(expand_variables("$HTTP_X_REAL_IP", r) == "$HTTP_X_REAL_IP");
  // The first of repeated headers.
  BOOST_TEST(expand_variables("$http_x_dup", r) == "first");
  BOOST_TEST(expand_variables("[$http_missing]", r) == "[]");
}

BOOST_AUTO_TEST_CASE(braced_form) {
  TestRequest tr("GET", "/p?a=b");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("${uri}x", r) == "/px");
  BOOST_TEST(expand_variables("$urix", r) == "$urix");  // no such variable
  BOOST_TEST(expand_variables("${args}${args}", r) == "a=ba=b");
}

BOOST_AUTO_TEST_CASE(unknown_and_malformed_references_are_kept) {
  TestRequest tr("GET", "/p");
  const Request& r = tr.get();
  BOOST_TEST(expand_variables("$nope/$uri", r) == "$nope//p");
  BOOST_TEST(expand_variables("${nope}", r) == "${nope}");
  BOOST_TEST(expand_variables("${uri", r) == "${uri");
  BOOST_TEST(expand_variables("${}", r) == "${}");
  BOOST_TEST(expand_variables("${u-ri}", r) == "${u-ri}");
  BOOST_TEST(expand_variables("cost: 5$", r) == "cost: 5$");
  BOOST_TEST(expand_variables("$ $-", r) == "$ $-");
  BOOST_TEST(expand_variables("$$uri", r) == "$/p");
  BOOST_TEST(expand_variables("$http_", r) == "$http_");
  BOOST_TEST(expand_variables("plain text", r) == "plain text");
  BOOST_TEST(expand_variables("", r) == "");
}

BOOST_AUTO_TEST_CASE(evaluate_appends) {
  TestRequest tr("GET", "/p");
  std::string out = "x=";
  evaluate(compile_template("$uri"), VariableContext{tr.get()}, out);
  BOOST_TEST(out == "x=/p");
}

BOOST_AUTO_TEST_CASE(compiling_resolves_names_once) {
  const CompiledTemplate t = compile_template("a$uri${args}$http_X_Real-Ip$nope");
  BOOST_TEST_REQUIRE(t.segments.size() == 5u);
  BOOST_TEST(t.segments[0].is_literal());
  BOOST_TEST(t.segments[0].text == "a");
  BOOST_TEST((t.segments[1].var == VarId::uri));
  BOOST_TEST((t.segments[2].var == VarId::args));
  // The header name is folded at compile time; '-' ends the name as in nginx.
  BOOST_TEST((t.segments[3].var == VarId::http_header));
  BOOST_TEST(t.segments[3].text == "x_real");
  // An unknown name is literal text, merged with its neighbours.
  BOOST_TEST(t.segments[4].is_literal());
  BOOST_TEST(t.segments[4].text == "-Ip$nope");
  TestRequest tr("GET", "/p?q");
  tr.header("X-Real", "1.2.3.4");
  BOOST_TEST(evaluate(t, VariableContext{tr.get()}) == "a/pq1.2.3.4-Ip$nope");
  // One compiled template serves any number of requests.
  TestRequest other("GET", "/o");
  BOOST_TEST(evaluate(t, VariableContext{other.get()}) == "a/o-Ip$nope");
}

BOOST_AUTO_TEST_CASE(log_variables_are_literal_outside_the_log) {
  TestRequest tr("GET", "/p");
  BOOST_TEST(expand_variables("$status $request_time $remote_user $uri", tr.get()) ==
             "$status $request_time $remote_user /p");
}

BOOST_AUTO_TEST_CASE(log_templates_know_every_variable) {
  TestRequest tr("GET", "/p?a=1");
  tr.set_host("h.example");
  ExchangeLog log;
  log.status = 404;
  log.body_bytes_sent = 12;
  log.upstream_addr = "127.0.0.1:9000";
  log.upstream_response_time_us = 2'500;
  const LogFacts facts{log, LogTime{971211336123, "local", "iso"}, 1'250};
  TemplateError error;
  const auto t = compile_log_template(
      "$status $body_bytes_sent $request_time $msec $time_local $time_iso8601 $upstream_addr "
      "$upstream_response_time [$remote_user] $request $scheme$is_args$https.",
      &error);
  BOOST_TEST_REQUIRE(t.has_value(), error.message);
  BOOST_TEST(evaluate(*t, VariableContext{tr.get(), &facts}) ==
             "404 12 1.250 971211336.123 local iso 127.0.0.1:9000 0.002 [] GET /p?a=1 HTTP/1.1 "
             "http?.");
  // Without the log's facts its variables are empty, never garbage.
  BOOST_TEST(evaluate(*t, VariableContext{tr.get()}) == "        [] GET /p?a=1 HTTP/1.1 http?.");
  log.status = 0;
  log.upstream_response_time_us = -1;
  BOOST_TEST(evaluate(compile_log_template("$status|$upstream_response_time", &error).value(),
                      VariableContext{tr.get(), &facts}) == "000|");
}

BOOST_AUTO_TEST_CASE(log_templates_reject_what_others_keep) {
  struct Case {
    const char* text;
    std::size_t offset;
    const char* message;
  };
  for (const Case& c : {
           Case{"$uri $nope", 5, "unknown variable \"$nope\""},
           Case{"x $", 2, "must be followed by a variable name"},
           Case{"a ${uri", 2, "unterminated \"${\""},
           Case{"${u-ri}", 3, "invalid character in a variable name"},
           Case{"$http_", 0, "unknown variable \"$http_\""},
       }) {
    BOOST_TEST_CONTEXT(c.text) {
      TemplateError error;
      BOOST_TEST(!compile_log_template(c.text, &error).has_value());
      BOOST_TEST(error.offset == c.offset);
      BOOST_TEST(error.message.find(c.message) != std::string::npos, error.message);
      // Outside the log the same text compiles, its bad reference kept as written.
      TestRequest tr("GET", "/p");
      BOOST_TEST(expand_variables(c.text, tr.get()).find('$') != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(tls_variables_come_from_the_connection) {
  TestRequest tr("GET", "/p");
  tr.set_host("a.test");
  const std::string tmpl =
      "$scheme|$https|$ssl_protocol|$ssl_server_name|$ssl_client_verify|$ssl_client_s_dn|"
      "$ssl_session_reused";
  BOOST_TEST(expand_variables(tmpl, tr.get()) == "http||||||");
  TlsPair tls;
  tr.get().set_tls(tls.server.get());
  const std::string cipher(tls.server->cipher());
  BOOST_TEST(!cipher.empty());
  BOOST_TEST(expand_variables(tmpl, tr.get()) == "https|on|TLSv1.3|a.test|NONE||.");
  BOOST_TEST(expand_variables("$ssl_cipher", tr.get()) == cipher);
  BOOST_TEST(expand_variables("$scheme://$host$request_uri", tr.get()) == "https://a.test/p");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
