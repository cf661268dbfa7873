// The json access log format: RFC 8259 escaping (quotes, backslash, control characters, invalid
// UTF-8) and every line a valid JSON object, checked with a strict parser.
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>

#include "../module_test_support.hpp"
#include "modules/access_log/log_format.hpp"
#include "strict_json.hpp"

namespace serverd {
namespace {

using test::TestRequest;
namespace json = test::json;

std::string json_string(std::string_view value) {
  std::string out;
  append_json_string(out, value);
  return out;
}

// The string a strict parser reads back from append_json_string().
std::string round_trip(std::string_view value) {
  std::string error;
  const auto v = json::parse(json_string(value), &error);
  BOOST_REQUIRE_MESSAGE(v.has_value(), error << " in " << json_string(value));
  BOOST_REQUIRE(v->is_string());
  return v->text;
}

std::string render_json(const Request& r, const ExchangeLog& log) {
  static const LogFormat format = *compile_log_format("json", nullptr);
  char local[32], iso[32];
  std::tm tm{};
  tm.tm_year = 125;
  tm.tm_mon = 5;
  tm.tm_mday = 1;
  format_log_times(tm, 0, local, iso);
  std::string out;
  render_log_line(format, LogContext{r, log, LogTime{1748736000000, local, iso}, 7}, out);
  return out;
}

BOOST_AUTO_TEST_SUITE(access_log_json)

BOOST_AUTO_TEST_CASE(strict_parser_rejects_what_it_must) {
  for (const char* bad :
       {"", "{", "{\"a\":1,}", "[1,]", "\"a\x01\"", "\"\\x22\"", "01", "1.", "{\"a\":1,\"a\":2}",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\\ud800\"", "nul", "{} {}", "\"abc"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!json::parse(bad).has_value());
    }
  }
  for (const char* good : {"{}", "[]", "0", "-1.5e+3", "\"\\u00e9\\n\"", "{\"a\":[null,true]}",
                           "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00\""}) {
    BOOST_TEST_CONTEXT(good) {
      BOOST_TEST(json::parse(good).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(escapes_quotes_backslash_and_control_characters) {
  BOOST_TEST(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  BOOST_TEST(json_string(std::string("\x00\x01\n\r\t\x1f\x7f", 7)) ==
             "\"\\u0000\\u0001\\u000a\\u000d\\u0009\\u001f\\u007f\"");
  BOOST_TEST(json_string("/path") == "\"/path\"");
  BOOST_TEST(round_trip("a\"b\\c\n") == "a\"b\\c\n");
}

BOOST_AUTO_TEST_CASE(valid_utf8_is_kept_and_invalid_bytes_are_escaped) {
  // é, €, 😀 pass through as they are.
  const std::string valid = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  BOOST_TEST(json_string(valid) == "\"" + valid + "\"");
  // Lone continuation byte, truncated sequence, overlong '/', a surrogate, > U+10FFFF, 0xFF.
  BOOST_TEST(json_string("\x80") == "\"\\u0080\"");
  BOOST_TEST(json_string("a\xe2\x82") == "\"a\\u00e2\\u0082\"");
  BOOST_TEST(json_string("\xc0\xaf") == "\"\\u00c0\\u00af\"");
  BOOST_TEST(json_string("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\"");
  BOOST_TEST(json_string("\xf4\x90\x80\x80") == "\"\\u00f4\\u0090\\u0080\\u0080\"");
  BOOST_TEST(json_string("\xff"
                         "ok") == "\"\\u00ffok\"");
  // A valid sequence right after an invalid byte survives.
  BOOST_TEST(json_string("\xe2\xc3\xa9") == "\"\\u00e2\xc3\xa9\"");
}

BOOST_AUTO_TEST_CASE(a_line_has_every_key_with_the_right_types) {
  TestRequest req("GET", "/q?x=\"1\"");
  req.set_path("/q").set_host("example.com").header("User-Agent", "ua \"quoted\"\\");
  ExchangeLog log;
  log.status = 200;
  log.body_bytes_sent = 1024;
  const std::string line = render_json(req.get(), log);
  std::string error;
  const auto v = json::parse(line, &error);
  BOOST_TEST_REQUIRE(v.has_value(), error << ": " << line);
  BOOST_TEST_REQUIRE((v->type == json::Value::Type::object));
  const char* keys[] = {
      "time",         "remote_addr",     "request",      "method",        "uri",
      "status",       "body_bytes_sent", "request_time", "upstream_addr", "upstream_response_time",
      "http_referer", "http_user_agent", "host"};
  BOOST_TEST(v->members.size() == std::size(keys));
  for (const char* k : keys) BOOST_TEST(v->find(k) != nullptr, "missing key " << k);
  BOOST_TEST(v->find("time")->text == "2025-06-01T00:00:00+00:00");
  BOOST_TEST(v->find("remote_addr")->text == "192.0.2.7");
  BOOST_TEST(v->find("request")->text == "GET /q?x=\"1\" HTTP/1.1");
  BOOST_TEST(v->find("method")->text == "GET");
  BOOST_TEST(v->find("uri")->text == "/q");
  BOOST_TEST(v->find("status")->is_number());
  BOOST_TEST(v->find("status")->text == "200");
  BOOST_TEST(v->find("body_bytes_sent")->text == "1024");
  BOOST_TEST(v->find("request_time")->text == "0.007");
  BOOST_TEST(v->find("upstream_addr")->is_null());
  BOOST_TEST(v->find("upstream_response_time")->is_null());
  BOOST_TEST(v->find("http_referer")->is_null());
  BOOST_TEST(v->find("http_user_agent")->text == "ua \"quoted\"\\");
  BOOST_TEST(v->find("host")->text == "example.com");

  log.upstream_addr = "127.0.0.1:9000";
  log.upstream_response_time_us = 2'500;
  const auto p = json::parse(render_json(req.get(), log));
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->find("upstream_addr")->text == "127.0.0.1:9000");
  BOOST_TEST(p->find("upstream_response_time")->text == "0.002");
}

BOOST_AUTO_TEST_CASE(every_line_parses_whatever_the_request_bytes) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 40);
  auto random_text = [&] {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  for (int i = 0; i < 500; ++i) {
    TestRequest req(random_text(), "/" + random_text());
    req.set_host(random_text())
        .header("Referer", random_text())
        .header("User-Agent", random_text());
    ExchangeLog log;
    log.status = 100 + i % 500;
    log.upstream_addr = random_text();
    std::string line = render_json(req.get(), log);
    BOOST_TEST_CONTEXT("line " << i) {
      BOOST_TEST(line.find('\n') == std::string::npos);
      std::string error;
      const auto v = json::parse(line, &error);
      BOOST_TEST_REQUIRE(v.has_value(), error);
      BOOST_TEST(v->members.size() == 13u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
