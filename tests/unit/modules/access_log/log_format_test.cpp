// Access log formats: template parsing (errors with their position), the combined line byte for
// byte, variables, nginx's escaping, and the time texts.
#include "modules/access_log/log_format.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "../module_test_support.hpp"
#include "core/config_loader.hpp"
#include "modules/access_log/access_log_module.hpp"
#include "modules/modules.hpp"

namespace serverd {
namespace {

using test::configure_from;
using test::TestRequest;

// 10 Oct 2000 13:55:36 at UTC-7 (nginx's documentation example).
struct FixedTime {
  char local[32] = {};
  char iso[32] = {};
  LogTime time;
  FixedTime() {
    std::tm tm{};
    tm.tm_year = 100;
    tm.tm_mon = 9;
    tm.tm_mday = 10;
    tm.tm_hour = 13;
    tm.tm_min = 55;
    tm.tm_sec = 36;
    format_log_times(tm, -7 * 3600, local, iso);
    time = LogTime{971211336123, local, iso};
  }
};

LogFormat compile(std::string_view text) {
  LogFormatError error;
  auto f = compile_log_format(text, &error);
  BOOST_REQUIRE_MESSAGE(f.has_value(), "\"" << text << "\": " << error.message);
  return std::move(*f);
}

std::string render(const LogFormat& f, const Request& r, const ExchangeLog& log,
                   std::int64_t request_time_ms = 12) {
  static const FixedTime fixed;
  std::string out;
  render_log_line(f, LogContext{r, log, fixed.time, request_time_ms}, out);
  return out;
}

BOOST_AUTO_TEST_SUITE(access_log_format)

BOOST_AUTO_TEST_CASE(time_texts) {
  const FixedTime t;
  BOOST_TEST(std::string(t.local) == "10/Oct/2000:13:55:36 -0700");
  BOOST_TEST(std::string(t.iso) == "2000-10-10T13:55:36-07:00");
  std::tm tm{};
  tm.tm_year = 124;
  tm.tm_mon = 0;
  tm.tm_mday = 2;
  tm.tm_hour = 3;
  tm.tm_min = 4;
  tm.tm_sec = 5;
  char local[32], iso[32];
  format_log_times(tm, 5 * 3600 + 30 * 60, local, iso);
  BOOST_TEST(std::string(local) == "02/Jan/2024:03:04:05 +0530");
  BOOST_TEST(std::string(iso) == "2024-01-02T03:04:05+05:30");
  format_log_times(tm, 0, local, iso);
  BOOST_TEST(std::string(local) == "02/Jan/2024:03:04:05 +0000");
}

BOOST_AUTO_TEST_CASE(time_cache_formats_the_local_time_once_per_second) {
  TimeCache cache;
  const LogTime a = cache.at(1'000'000'000'123);
  const std::string first(a.local);
  BOOST_TEST(first.size() == 26u);
  const LogTime b = cache.at(1'000'000'000'999);
  BOOST_TEST(std::string(b.local) == first);
  BOOST_TEST(b.epoch_ms == 1'000'000'000'999);
  const LogTime c = cache.at(1'000'000'001'000);
  BOOST_TEST(std::string(c.local) != first);
  BOOST_TEST(std::string(c.iso8601).size() == 25u);
}

BOOST_AUTO_TEST_CASE(combined_line_is_byte_exact) {
  TestRequest req("GET", "/index.html?x=1");
  req.set_host("example.com").header("Host", "example.com").header("User-Agent", "curl/7.88.1");
  ExchangeLog log;
  log.status = 200;
  log.body_bytes_sent = 612;
  BOOST_TEST(render(compile("combined"), req.get(), log) ==
             "192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] \"GET /index.html?x=1 HTTP/1.1\" 200 612 "
             "\"-\" \"curl/7.88.1\"");
  // The same as spelling the template out.
  BOOST_TEST(render(compile(kCombinedTemplate), req.get(), log) ==
             render(compile("combined"), req.get(), log));
}

BOOST_AUTO_TEST_CASE(combined_escapes_quotes_and_control_bytes_as_nginx) {
  TestRequest req("GET", "/a\"b");
  req.header("Referer", "http://x/\"quoted\"")
      .header("User-Agent", std::string("a\\b\x01\x7f\xff\tz"));
  ExchangeLog log;
  log.status = 404;
  log.body_bytes_sent = 0;
  BOOST_TEST(render(compile("combined"), req.get(), log) ==
             "192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] \"GET /a\\x22b HTTP/1.1\" 404 0 "
             "\"http://x/\\x22quoted\\x22\" \"a\\x5Cb\\x01\\x7F\\xFF\\x09z\"");
}

BOOST_AUTO_TEST_CASE(every_variable) {
  TestRequest req("POST", "/p%20q?a=1&b=2");
  req.set_path("/p q").set_host("h.example").header("X-Real-IP", "10.1.2.3").header("Referer", "r");
  ExchangeLog log;
  log.status = 502;
  log.body_bytes_sent = 157;
  log.upstream_addr = "127.0.0.1:9000";
  log.upstream_response_time_us = 1'234'567;
  const LogFormat f = compile(
      "$remote_addr|$remote_port|$remote_user|$time_local|$time_iso8601|$msec|$request|"
      "$request_method|$request_uri|$uri|$args|$query_string|$host|$server_protocol|"
      "$server_addr|$server_port|$status|$body_bytes_sent|$request_time|$upstream_addr|"
      "$upstream_response_time|$http_referer|$http_user_agent|$http_x_real_ip|${uri}x");
  BOOST_TEST(render(f, req.get(), log, 3'005) ==
             "192.0.2.7|51000|-|10/Oct/2000:13:55:36 -0700|2000-10-10T13:55:36-07:00|"
             "971211336.123|POST /p%20q?a=1&b=2 HTTP/1.1|POST|/p%20q?a=1&b=2|/p q|a=1&b=2|"
             "a=1&b=2|h.example|HTTP/1.1|127.0.0.1|8080|502|157|3.005|127.0.0.1:9000|1.234|r|-|"
             "10.1.2.3|/p qx");
}

BOOST_AUTO_TEST_CASE(missing_values_print_a_dash) {
  TestRequest req("GET", "/");
  ExchangeLog log;
  log.status = 200;
  const LogFormat f =
      compile("$args $upstream_addr $upstream_response_time $http_referer $http_x_none");
  BOOST_TEST(render(f, req.get(), log) == "- - - - -");
  // $host falls back to the local address without a Host header.
  BOOST_TEST(render(compile("$host"), req.get(), log) == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(header_variables_match_case_and_dashes) {
  TestRequest req("GET", "/");
  req.header("x-forwarded-FOR", "a").header("Accept-Language", "de");
  ExchangeLog log;
  BOOST_TEST(render(compile("$http_x_forwarded_for $http_ACCEPT_language"), req.get(), log) ==
             "a de");
}

BOOST_AUTO_TEST_CASE(request_time_is_seconds_with_milliseconds) {
  TestRequest req("GET", "/");
  ExchangeLog log;
  const LogFormat f = compile("$request_time");
  BOOST_TEST(render(f, req.get(), log, 0) == "0.000");
  BOOST_TEST(render(f, req.get(), log, 12) == "0.012");
  BOOST_TEST(render(f, req.get(), log, 61'500) == "61.500");
}

BOOST_AUTO_TEST_CASE(template_errors_name_the_offset) {
  struct Case {
    const char* text;
    std::size_t offset;
    const char* message;
  };
  for (const Case& c : {
           Case{"$remote_addr $bogus", 13, "unknown variable \"$bogus\""},
           Case{"x $", 2, "\"$\" must be followed by a variable name"},
           Case{"${uri", 0, "unterminated \"${\""},
           Case{"${ur-i}", 4, "invalid character in a variable name"},
           Case{"a\nb", 1, "control characters"},
           Case{"$http_", 0, "unknown variable \"$http_\""},
           Case{"", 0, "an empty log format"},
       }) {
    BOOST_TEST_CONTEXT(c.text) {
      LogFormatError error;
      BOOST_TEST(!compile_log_format(c.text, &error).has_value());
      BOOST_TEST(error.offset == c.offset);
      BOOST_TEST(error.message.find(c.message) != std::string::npos, error.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_variable_is_a_config_error_at_its_column) {
  AccessLogModule m;
  // `access_log_format = "` is 21 characters: the template starts at column 22.
  auto r = configure_from(m, ConfigLevel::server,
                          "access_log = \"a.log\"\naccess_log_format = \"$remote_addr $bogus\"\n",
                          nullptr);
  BOOST_TEST(r.error_text() ==
             "test.toml:2:35: invalid `access_log_format`: unknown variable \"$bogus\"");
  // A string with escapes: the value's own position.
  auto e = configure_from(m, ConfigLevel::location, "access_log_format = \"\\t$nope\"", nullptr);
  BOOST_TEST(e.error_text() ==
             "test.toml:1:21: invalid `access_log_format`: unknown variable \"$nope\"");
}

BOOST_AUTO_TEST_CASE(unknown_variable_through_the_loader) {
  const LoadResult r = load_config_text(R"([[server]]
listen = "127.0.0.1:8080"
  [[server.location]]
  path = "/"
  access_log = "logs/a.log"
  access_log_format = "$status $sttus"
)",
                                        "serverd.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST(r.errors.to_string() ==
             "serverd.toml:6:32: invalid `access_log_format`: unknown variable \"$sttus\"");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
