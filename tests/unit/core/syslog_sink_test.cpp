// "syslog:" targets: parameters, defaults and errors, severities, and the RFC 5424 line.
#include "core/syslog_sink.hpp"

#include <netinet/in.h>
#include <sys/un.h>

#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>

using namespace serverd;

namespace {

std::string error_of(std::string_view value) {
  std::string error;
  BOOST_TEST(!parse_syslog_target(value, &error).has_value(), value);
  return error;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(syslog_target)

BOOST_AUTO_TEST_CASE(defaults_and_parameters) {
  std::string error;
  auto t = parse_syslog_target("syslog:server=127.0.0.1", &error);
  BOOST_TEST_REQUIRE(t.has_value(), error);
  BOOST_TEST(t->facility == 23);
  BOOST_TEST(t->tag == "serverd");
  BOOST_TEST(!t->severity.has_value());
  BOOST_TEST(!t->nohostname);
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&t->address);
  BOOST_TEST(v4->sin_family == AF_INET);
  BOOST_TEST(ntohs(v4->sin_port) == 514);

  t = parse_syslog_target(
      "syslog:server=[::1]:5514,facility=daemon,severity=notice,tag=web_1,nohostname", &error);
  BOOST_TEST_REQUIRE(t.has_value(), error);
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&t->address);
  BOOST_TEST(v6->sin6_family == AF_INET6);
  BOOST_TEST(ntohs(v6->sin6_port) == 5514);
  BOOST_TEST(t->facility == 3);
  BOOST_TEST(t->severity.value_or(-1) == 5);
  BOOST_TEST(t->tag == "web_1");
  BOOST_TEST(t->nohostname);

  t = parse_syslog_target("syslog:server=unix:/dev/log", &error);
  BOOST_TEST_REQUIRE(t.has_value(), error);
  BOOST_TEST(t->address.ss_family == AF_UNIX);
  BOOST_TEST(std::string(reinterpret_cast<const sockaddr_un*>(&t->address)->sun_path) ==
             "/dev/log");
}

BOOST_AUTO_TEST_CASE(invalid_parameters) {
  BOOST_TEST(error_of("syslog:").find("needs server=") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1:70000").find("invalid port") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1:x").find("invalid port") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=[::1").find("missing \"]\"") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=:514").find("needs an address") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=unix:").find("invalid unix socket path") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1,facility=local8").find("unknown facility") !=
             std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1,tag=").find("a tag is") != std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1,tag=" + std::string(33, 'a')).find("a tag is") !=
             std::string::npos);
  BOOST_TEST(error_of("syslog:server=127.0.0.1,hostname").find("unknown syslog parameter") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(severities_and_line_format) {
  BOOST_TEST(syslog_severity(spdlog::level::debug) == 7);
  BOOST_TEST(syslog_severity(spdlog::level::info) == 6);
  BOOST_TEST(syslog_severity(spdlog::level::warn) == 4);
  BOOST_TEST(syslog_severity(spdlog::level::err) == 3);
  BOOST_TEST(syslog_severity(spdlog::level::critical) == 2);
  const std::string line = format_syslog_line(190, "", "serverd", "[info] master: hello");
  const std::regex re(
      R"(<190>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d - serverd \d+ - - \[info\] master: hello)");
  BOOST_TEST(std::regex_match(line, re), line);
  BOOST_TEST(format_syslog_line(30, "host1", "t", "m").find(" host1 t ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
