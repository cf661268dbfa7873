#include "core/address.hpp"

#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>

using serverd::parse_listen_address;

namespace {

// The canonical text of a parsed address, or "error: <reason>".
std::string parsed(std::string_view text) {
  std::string error;
  auto address = parse_listen_address(text, &error);
  if (!address) return "error: " + error;
  return address->to_string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(address)

BOOST_AUTO_TEST_CASE(ipv4) {
  std::string error;
  auto a = parse_listen_address("127.0.0.1:8080", &error);
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->family() == AF_INET);
  BOOST_TEST(a->port() == 8080);
  BOOST_TEST(a->host_string() == "127.0.0.1");
  BOOST_TEST(a->to_string() == "127.0.0.1:8080");
  BOOST_TEST(a->length == sizeof(sockaddr_in));
  BOOST_TEST(parsed("10.1.2.3:1") == "10.1.2.3:1");
  BOOST_TEST(parsed("10.1.2.3:65535") == "10.1.2.3:65535");
}

BOOST_AUTO_TEST_CASE(ipv6) {
  std::string error;
  auto a = parse_listen_address("[::1]:8080", &error);
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->family() == AF_INET6);
  BOOST_TEST(a->port() == 8080);
  BOOST_TEST(a->host_string() == "::1");
  BOOST_TEST(a->length == sizeof(sockaddr_in6));
  BOOST_TEST(parsed("[::]:443") == "[::]:443");
  BOOST_TEST(parsed("[2001:DB8:0:0::1]:80") == "[2001:db8::1]:80");
}

BOOST_AUTO_TEST_CASE(wildcard_bare_port_and_localhost) {
  BOOST_TEST(parsed("*:80") == "0.0.0.0:80");
  BOOST_TEST(parsed("8080") == "0.0.0.0:8080");
  BOOST_TEST(parsed("localhost:8080") == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(bad_addresses) {
  BOOST_TEST(parsed("127.0.0.1:99999") == "error: port must be 1..65535");
  BOOST_TEST(parsed("127.0.0.1:0") == "error: port must be 1..65535");
  BOOST_TEST(parsed("0") == "error: port must be 1..65535");
  BOOST_TEST(parsed("127.0.0.1:http") == "error: port must be a number 1..65535");
  BOOST_TEST(parsed("127.0.0.1:") == "error: missing port");
  BOOST_TEST(parsed("127.0.0.1") == "error: missing port (expected host:port)");
  BOOST_TEST(parsed("") == "error: empty address");
  BOOST_TEST(parsed(":80") == "error: missing host before \":\"");
  BOOST_TEST(parsed("256.0.0.1:80") == "error: host must be an IP address, \"*\" or \"localhost\"");
  BOOST_TEST(parsed("example.com:80") ==
             "error: host must be an IP address, \"*\" or \"localhost\"");
  BOOST_TEST(parsed("::1:80") == "error: IPv6 addresses must be in brackets, e.g. \"[::1]:8080\"");
  BOOST_TEST(parsed("[::1]") == "error: missing port");
  BOOST_TEST(parsed("[::1]80") == "error: expected \":\" and a port after \"]\"");
  BOOST_TEST(parsed("[::1:80") == "error: missing \"]\" after the IPv6 address");
  BOOST_TEST(parsed("[1.2.3.4]:80") == "error: invalid IPv6 address \"1.2.3.4\"");
}

BOOST_AUTO_TEST_CASE(equality_compares_family_host_and_port) {
  auto a = parse_listen_address("127.0.0.1:80", nullptr);
  auto b = parse_listen_address("localhost:80", nullptr);
  auto c = parse_listen_address("127.0.0.1:81", nullptr);
  auto d = parse_listen_address("[::1]:80", nullptr);
  auto e = parse_listen_address("*:80", nullptr);
  auto f = parse_listen_address("80", nullptr);
  BOOST_REQUIRE(a && b && c && d && e && f);
  BOOST_TEST((*a == *b));
  BOOST_TEST(!(*a == *c));
  BOOST_TEST(!(*a == *d));
  BOOST_TEST((*e == *f));
}

BOOST_AUTO_TEST_CASE(from_sockaddr_round_trips) {
  auto a = parse_listen_address("[::1]:8443", nullptr);
  BOOST_REQUIRE(a.has_value());
  auto copy = serverd::SocketAddress::from_sockaddr(a->get(), a->length);
  BOOST_TEST((copy == *a));
  BOOST_TEST(copy.to_string() == "[::1]:8443");
}

BOOST_AUTO_TEST_SUITE_END()
