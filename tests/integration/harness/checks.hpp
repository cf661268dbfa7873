#pragma once
// Boost.Test assertions shared by the integration tests.
#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>
#include <string_view>

#include "http_client.hpp"

namespace serverd::itest {

// Every response: exactly one `Server: serverd[/version]` and one IMF-fixdate `Date`.
inline void check_common_headers(const Response& r) {
  BOOST_TEST_CONTEXT("response head: " << printable(r.raw_head)) {
    BOOST_TEST(r.header_count("Server") == 1U);
    static const std::regex server_re(R"(^serverd(/[0-9A-Za-z.+_~-]+)?$)");
    const std::string server = r.header("Server").value_or("");
    BOOST_TEST(std::regex_match(server, server_re), "Server header is \"" << server << "\"");
    BOOST_TEST(r.header_count("Date") == 1U);
    const std::string date = r.header("Date").value_or("");
    BOOST_TEST(is_imf_fixdate(date), "Date header is \"" << date << "\"");
  }
}

// A 200 with exactly `body` (and a matching Content-Length).
inline void check_fixed_body(const Response& r, std::string_view body, int status = 200) {
  BOOST_TEST_CONTEXT("response head: " << printable(r.raw_head)) {
    BOOST_TEST(r.status == status);
    BOOST_TEST(r.body == body);
    BOOST_TEST(r.header("Content-Length").value_or("<none>") == std::to_string(body.size()));
  }
}

// nginx writes redirect targets either as given ("/new") or absolute with the request's
// host and port; both are what a client can follow to the same place.
inline bool redirect_target_is(std::string_view location, std::string_view path, int port) {
  const std::string p(path);
  const std::string port_text = ":" + std::to_string(port);
  return location == p || location == "http://localhost" + port_text + p ||
         location == "http://127.0.0.1" + port_text + p;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace serverd::itest
