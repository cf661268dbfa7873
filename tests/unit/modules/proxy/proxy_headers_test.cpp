// The proxy's header rewriting, both ways: hop-by-hop headers never cross, X-Forwarded-* and
// X-Real-IP are the proxy's own, proxy_set_header / proxy_hide_header apply, the upstream's
// Date/Server and framing headers give way to the proxy's.
#include "modules/proxy/proxy_headers.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

#include "../module_test_support.hpp"

namespace serverd {
namespace {

using test::TestRequest;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// "Name: value" lines (printable in failure messages).
std::vector<std::string> lines(const HeaderList& headers) {
  std::vector<std::string> out;
  for (const auto& h : headers) out.push_back(h.name + ": " + h.value);
  return out;
}
std::vector<std::string> lines(const Pairs& pairs) {
  std::vector<std::string> out;
  for (const auto& [n, v] : pairs) out.push_back(n + ": " + v);
  return out;
}

std::size_t count(const HeaderList& headers, std::string_view name) {
  std::size_t n = 0;
  for (const auto& h : headers) n += iequals(h.name, name) ? 1 : 0;
  return n;
}

std::string value_of(const HeaderList& headers, std::string_view name) {
  const std::string* v = headers.find(name);
  return v ? *v : std::string("<none>");
}

ForwardContext context(std::string_view ip = "192.0.2.7", std::string_view scheme = "http") {
  ForwardContext c;
  c.client_ip = ip;
  c.scheme = scheme;
  return c;
}

std::size_t count_substr(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::vector<Header> upstream_headers(const Pairs& pairs) {
  std::vector<Header> out;
  for (const auto& [n, v] : pairs) out.push_back({n, v});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_headers)

BOOST_AUTO_TEST_CASE(hop_by_hop_names) {
  for (const char* name : {"Connection", "connection", "Keep-Alive", "KEEP-ALIVE", "TE", "te",
                           "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authorization",
                           "Proxy-Authenticate", "proxy-connection"}) {
    BOOST_TEST(is_hop_by_hop(name), name);
  }
  for (const char* name :
       {"Host", "Content-Type", "Content-Length", "Trailers", "TEST", "Tea", "X-Connection",
        "Upgrade-Insecure-Requests", "Keep-Alive-X", "X-Proxy-Id", "Via"}) {
    BOOST_TEST(!is_hop_by_hop(name), name);
  }
}

BOOST_AUTO_TEST_CASE(request_hop_by_hop_headers_are_removed_and_end_to_end_ones_kept) {
  TestRequest tr("GET", "/x");
  tr.header("Host", "example.test:8080")
      .header("Connection", "keep-alive, X-Hop-A")
      .header("Connection", " x-hop-b ,,\tTE ")
      .header("X-Hop-A", "secret-a")
      .header("X-Hop-B", "secret-b")
      .header("Keep-Alive", "timeout=5")
      .header("TE", "trailers")
      .header("Trailer", "X-Sum")
      .header("Transfer-Encoding", "chunked")
      .header("Upgrade", "h2c")
      .header("Proxy-Authorization", "Basic Zm9vOmJhcg==")
      .header("Proxy-Connection", "keep-alive")
      .header("Content-Length", "12")
      .header("User-Agent", "unit/1")
      .header("Accept", "*/*")
      .header("X-Multi", "one")
      .header("X-Multi", "two");
  const ForwardContext ctx = context();
  const HeaderList out = upstream_request_headers(tr.get(), ctx);
  const Pairs expected = {{"Host", "example.test:8080"},
                          {"User-Agent", "unit/1"},
                          {"Accept", "*/*"},
                          {"X-Multi", "one"},
                          {"X-Multi", "two"},
                          {"X-Forwarded-For", "192.0.2.7"},
                          {"X-Forwarded-Proto", "http"},
                          {"X-Forwarded-Host", "example.test:8080"},
                          {"X-Real-IP", "192.0.2.7"}};
  BOOST_TEST(lines(out) == lines(expected), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(x_forwarded_for_is_appended_to_every_client_value) {
  TestRequest tr("GET", "/");
  tr.header("Host", "a")
      .header("X-Forwarded-For", "203.0.113.1")
      .header("x-forwarded-for", "198.51.100.2, 10.0.0.3");
  const HeaderList out = upstream_request_headers(tr.get(), context("192.0.2.7"));
  BOOST_TEST(count(out, "X-Forwarded-For") == 1U);
  BOOST_TEST(value_of(out, "X-Forwarded-For") == "203.0.113.1, 198.51.100.2, 10.0.0.3, 192.0.2.7");
}

BOOST_AUTO_TEST_CASE(client_sent_forwarding_headers_are_replaced) {
  TestRequest tr("GET", "/");
  tr.header("Host", "shop.example")
      .header("X-Forwarded-Proto", "https")
      .header("X-Forwarded-Host", "evil.example")
      .header("X-Real-IP", "6.6.6.6")
      .header("x-real-ip", "7.7.7.7");
  const HeaderList out = upstream_request_headers(tr.get(), context("2001:db8::5", "https"));
  BOOST_TEST(count(out, "X-Forwarded-Proto") == 1U);
  BOOST_TEST(value_of(out, "X-Forwarded-Proto") == "https");
  BOOST_TEST(count(out, "X-Forwarded-Host") == 1U);
  BOOST_TEST(value_of(out, "X-Forwarded-Host") == "shop.example");
  BOOST_TEST(count(out, "X-Real-IP") == 1U);
  BOOST_TEST(value_of(out, "X-Real-IP") == "2001:db8::5");
  BOOST_TEST(value_of(out, "X-Forwarded-For") == "2001:db8::5");
}

BOOST_AUTO_TEST_CASE(no_host_means_no_x_forwarded_host) {
  TestRequest tr("GET", "/");
  const HeaderList out = upstream_request_headers(tr.get(), context());
  BOOST_TEST(!out.has("X-Forwarded-Host"));
  BOOST_TEST(!out.has("Host"));
  BOOST_TEST(value_of(out, "X-Real-IP") == "192.0.2.7");
}

BOOST_AUTO_TEST_CASE(upgrade_passes_only_for_a_handshake) {
  TestRequest tr("GET", "/ws");
  tr.header("Host", "a")
      .header("Connection", "Upgrade")
      .header("Upgrade", "websocket")
      .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  ForwardContext ctx = context();
  ctx.upgrade = true;
  const HeaderList out = upstream_request_headers(tr.get(), ctx);
  BOOST_TEST(value_of(out, "Upgrade") == "websocket");
  BOOST_TEST(!out.has("Connection"));  // build_upstream_head writes its own
  BOOST_TEST(value_of(out, "Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ==");

  ctx.upgrade = false;
  BOOST_TEST(!upstream_request_headers(tr.get(), ctx).has("Upgrade"));
}

BOOST_AUTO_TEST_CASE(proxy_set_header_overrides_adds_and_removes) {
  TestRequest tr("GET", "/");
  tr.header("Host", "public.example")
      .header("User-Agent", "curl/8")
      .header("Accept", "*/*")
      .header("X-Api-Key", "k1")
      .header("X-Api-Key", "k2");
  const std::vector<std::pair<std::string, std::string>> set = {
      {"host", "backend.internal"},    // override (case-insensitive)
      {"User-Agent", ""},              // removal
      {"X-Api-Key", "server-side"},    // replaces every client value
      {"X-Real-IP", ""},               // even the proxy's own headers can go
      {"X-Request-Source", "edge-1"},  // a new one
      {"X-Not-There", ""}};            // removing what is absent is harmless
  ForwardContext ctx = context();
  ctx.set_headers = &set;
  const HeaderList out = upstream_request_headers(tr.get(), ctx);
  BOOST_TEST(count(out, "Host") == 1U);
  BOOST_TEST(value_of(out, "Host") == "backend.internal");
  BOOST_TEST(!out.has("User-Agent"));
  BOOST_TEST(count(out, "X-Api-Key") == 1U);
  BOOST_TEST(value_of(out, "X-Api-Key") == "server-side");
  BOOST_TEST(!out.has("X-Real-IP"));
  BOOST_TEST(value_of(out, "X-Request-Source") == "edge-1");
  BOOST_TEST(value_of(out, "Accept") == "*/*");
  // X-Forwarded-Host tells the client's Host even when Host itself is overridden.
  BOOST_TEST(value_of(out, "X-Forwarded-Host") == "public.example");
}

BOOST_AUTO_TEST_CASE(upstream_head_bytes_with_content_length) {
  TestRequest tr("POST", "/v1/items?x=1");
  tr.header("Host", "example.test")
      .header("Content-Type", "text/plain")
      .header("Content-Length", "5");
  tr.get().content_length_ = 5;
  const HeaderList headers = upstream_request_headers(tr.get(), context());
  const std::string head = build_upstream_head("POST", "/v1/items?x=1", headers, tr.get(), false);
  BOOST_TEST(head ==
             "POST /v1/items?x=1 HTTP/1.1\r\n"
             "Host: example.test\r\n"
             "Content-Type: text/plain\r\n"
             "X-Forwarded-For: 192.0.2.7\r\n"
             "X-Forwarded-Proto: http\r\n"
             "X-Forwarded-Host: example.test\r\n"
             "X-Real-IP: 192.0.2.7\r\n"
             "Content-Length: 5\r\n"
             "Connection: keep-alive\r\n"
             "\r\n");
}

BOOST_AUTO_TEST_CASE(upstream_head_framing) {
  {
    TestRequest tr("POST", "/");
    tr.header("Host", "h").header("Transfer-Encoding", "chunked");
    tr.get().chunked_ = true;
    const std::string head = build_upstream_head(
        "POST", "/", upstream_request_headers(tr.get(), context()), tr.get(), false);
    BOOST_TEST(count_substr(head, "Transfer-Encoding: chunked\r\n") == 1U, head);
    BOOST_TEST(head.find("Content-Length") == std::string::npos, head);
  }
  {
    TestRequest tr("POST", "/");
    tr.header("Host", "h").header("Content-Length", "0");
    tr.get().content_length_ = 0;
    const std::string head = build_upstream_head(
        "POST", "/", upstream_request_headers(tr.get(), context()), tr.get(), false);
    BOOST_TEST(count_substr(head, "Content-Length: 0\r\n") == 1U, head);
  }
  {
    TestRequest tr("GET", "/");
    tr.header("Host", "h");
    const std::string head = build_upstream_head(
        "GET", "/", upstream_request_headers(tr.get(), context()), tr.get(), false);
    BOOST_TEST(head.find("Content-Length") == std::string::npos, head);
    BOOST_TEST(head.find("Transfer-Encoding") == std::string::npos, head);
    BOOST_TEST(head.ends_with("Connection: keep-alive\r\n\r\n"), head);
  }
  {
    TestRequest tr("GET", "/ws");
    tr.header("Host", "h").header("Connection", "upgrade").header("Upgrade", "websocket");
    tr.get().upgrade_ = true;
    ForwardContext ctx = context();
    ctx.upgrade = true;
    const std::string head =
        build_upstream_head("GET", "/ws", upstream_request_headers(tr.get(), ctx), tr.get(), true);
    BOOST_TEST(count_substr(head, "Upgrade: websocket\r\n") == 1U, head);
    BOOST_TEST(count_substr(head, "Connection") == 1U, head);
    BOOST_TEST(head.ends_with("Connection: upgrade\r\n\r\n"), head);
  }
}

BOOST_AUTO_TEST_CASE(upstream_head_without_client_host_still_has_one) {
  TestRequest tr("GET", "/");  // an HTTP/1.0 request without Host
  tr.get().minor_ = 0;
  const std::string head = build_upstream_head(
      "GET", "/", upstream_request_headers(tr.get(), context()), tr.get(), false);
  BOOST_TEST(head.starts_with("GET / HTTP/1.1\r\n"), head);
  BOOST_TEST(count_substr(head, "\r\nHost: ") == 1U, head);
}

BOOST_AUTO_TEST_CASE(response_hop_by_hop_date_server_and_framing_are_dropped) {
  const auto upstream = upstream_headers({{"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                                          {"Server", "backend/1.0"},
                                          {"Content-Type", "text/html"},
                                          {"Content-Length", "42"},
                                          {"Transfer-Encoding", "chunked"},
                                          {"Connection", "keep-alive, X-Hop"},
                                          {"connection", "x-other"},
                                          {"X-Hop", "1"},
                                          {"X-Other", "2"},
                                          {"Keep-Alive", "timeout=5, max=100"},
                                          {"Trailer", "X-Sum"},
                                          {"Upgrade", "h2c"},
                                          {"Proxy-Authenticate", "Basic"},
                                          {"Set-Cookie", "a=1"},
                                          {"Cache-Control", "no-cache"},
                                          {"Set-Cookie", "b=2"},
                                          {"ETag", "\"v1\""}});
  const HeaderList out = client_response_headers(upstream, false, {});
  const Pairs expected = {{"Content-Type", "text/html"},
                          {"Set-Cookie", "a=1"},
                          {"Cache-Control", "no-cache"},
                          {"Set-Cookie", "b=2"},
                          {"ETag", "\"v1\""}};
  BOOST_TEST(lines(out) == lines(expected), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(proxy_hide_header_is_case_insensitive) {
  const auto upstream =
      upstream_headers({{"X-Powered-By", "PHP/8"}, {"x-internal-id", "42"}, {"X-Kept", "yes"}});
  const HeaderList out =
      client_response_headers(upstream, false, {"x-powered-by", "X-Internal-ID"});
  const Pairs expected = {{"X-Kept", "yes"}};
  BOOST_TEST(lines(out) == lines(expected), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(switching_protocols_keeps_upgrade_only) {
  const auto upstream = upstream_headers({{"Upgrade", "websocket"},
                                          {"Connection", "Upgrade"},
                                          {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
                                          {"Keep-Alive", "timeout=5"}});
  const HeaderList out = client_response_headers(upstream, true, {});
  const Pairs expected = {{"Upgrade", "websocket"},
                          {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}};
  BOOST_TEST(lines(out) == lines(expected), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
