// Bodies through the proxy: request bodies (Content-Length and chunked) arrive byte-exact;
// chunked, close-delimited, bodyless (HEAD, 204, 304) and 1xx-preceded responses reach the
// client intact, and the client connection stays usable after each.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;

namespace {

struct BodyProxy {
  it::TestBackend backend{it::BackendOptions{"b1"}};
  it::TestServer server{px::config(px::upstream("app", {backend.address()}, "keepalive = 8"),
                                   px::location("/", "http://app"),
                                   "client_max_body_size = \"64MiB\"")};
};

std::string chunked(std::string_view body) {
  std::string out;
  const std::size_t sizes[] = {1, 7, 4096, 65536, 100000, 3};
  std::size_t i = 0;
  for (std::size_t off = 0; off < body.size(); ++i) {
    const std::size_t n = std::min(sizes[i % 6], body.size() - off);
    char line[32];
    std::snprintf(line, sizeof line, "%zx\r\n", n);
    out += line;
    out.append(body.substr(off, n));
    out += "\r\n";
    off += n;
  }
  return out + "0\r\n\r\n";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(proxy_bodies, BodyProxy)

BOOST_AUTO_TEST_CASE(request_bodies_arrive_byte_exact) {
  it::HttpConnection conn = server.connect();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{10} * 1024 * 1024}) {
    const std::string body = it::pseudo_random_bytes(size, static_cast<std::uint32_t>(size + 1));
    const std::string sum = it::fnv64_hex(body);
    for (bool use_chunked : {false, true}) {
      BOOST_TEST_CONTEXT("POST of " << size << " bytes, " << (use_chunked ? "chunked" : "length")) {
        std::string request = "POST /upload?n=" + std::to_string(size) +
                              " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-bin\r\n";
        request += use_chunked ? "Transfer-Encoding: chunked\r\n\r\n" + chunked(body)
                               : "Content-Length: " + std::to_string(size) + "\r\n\r\n" + body;
        conn.send(request, 20s);
        it::ReadOptions o;
        o.timeout = 20s;
        const it::Response r = conn.expect_response(o);
        BOOST_TEST_REQUIRE(r.status == 200, "status " << r.status << "\n" << server.diagnostics());
        const it::Echo e = it::parse_echo(r.body);
        BOOST_TEST(e.method == "POST");
        BOOST_TEST(e.body_length == size);
        BOOST_TEST(e.body_checksum == sum);
        BOOST_TEST(e.framing == (use_chunked ? "chunked" : "length"));
        BOOST_TEST(e.header("Content-Type").value_or("") == "application/x-bin");
        if (!use_chunked)
          BOOST_TEST(e.header("Content-Length").value_or("<none>") == std::to_string(size));
        else
          BOOST_TEST(e.header_count("Content-Length") == 0U);
      }
    }
  }
  BOOST_TEST(backend.requests() == 6U);
}

BOOST_AUTO_TEST_CASE(chunked_response_is_relayed_intact) {
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/c?chunks=1,100,70000,3,65536"));
  const it::Response r = conn.expect_response();
  const std::string expected = it::payload(0, 1 + 100 + 70000 + 3 + 65536);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.size() == expected.size());
  BOOST_TEST((r.body == expected), "body differs from the upstream's chunks");
  BOOST_TEST(r.chunked, "head: " << it::printable(r.raw_head));
  BOOST_TEST(r.header_count("Content-Length") == 0U);
  BOOST_TEST(r.header_count("Trailer") == 0U);
  // Framing was right: the next response on the connection parses.
  conn.send(it::get_request("/next"));
  BOOST_TEST(it::parse_echo(conn.expect_response().body).target == "/next");
  BOOST_TEST(backend.connections() == 1U);

  // An HTTP/1.0 client cannot take chunks: the body ends with the connection.
  it::HttpConnection old = server.connect();
  old.send("GET /c?chunks=5,70000 HTTP/1.0\r\nHost: localhost\r\n\r\n");
  const it::Response r10 = old.expect_response();
  BOOST_TEST(r10.status == 200);
  BOOST_TEST(!r10.chunked);
  BOOST_TEST((r10.body == it::payload(0, 70005)));
}

BOOST_AUTO_TEST_CASE(close_delimited_response_is_relayed_intact) {
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/c?bytes=300000&close=1"));
  const it::ReadResult rr = conn.read_response();
  BOOST_TEST_REQUIRE(it::to_string(rr.status) == std::string("ok"), it::to_string(rr.status)
                                                                        << ": " << rr.error << "\n"
                                                                        << server.diagnostics());
  const it::Response& r = rr.response;
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.size() == 300000U);
  BOOST_TEST((r.body == it::payload(0, 300000)), "body differs");
  // The client connection outlives the upstream one.
  conn.send(it::get_request("/after"));
  const it::Response after = conn.expect_response();
  BOOST_TEST(after.status == 200);
  BOOST_TEST(it::parse_echo(after.body).target == "/after");
  BOOST_TEST(backend.connections() == 2U);
}

BOOST_AUTO_TEST_CASE(small_close_delimited_response_ends_promptly) {
  // Head, body and FIN arrive together: the end of the body is seen at once, not after
  // proxy_read_timeout.
  for (const char* version : {"HTTP/1.1", "HTTP/1.0"}) {
    BOOST_TEST_CONTEXT(version << " client") {
      it::HttpConnection conn = server.connect();
      const auto start = std::chrono::steady_clock::now();
      conn.send(std::string("GET /small?bytes=100&close=1 ") + version +
                "\r\nHost: localhost\r\n\r\n");
      const it::ReadResult rr = conn.read_response();
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      BOOST_TEST(it::to_string(rr.status) == std::string("ok"),
                 it::to_string(rr.status) << " after " << ms << " ms: " << rr.error << "\n"
                                          << server.error_log());
      BOOST_TEST((rr.response.body == it::payload(0, 100)));
      BOOST_TEST(ms < 1000);
    }
  }
  BOOST_TEST(px::log_lines_with(server, {"[error]"}) == 0U, server.error_log());
}

BOOST_AUTO_TEST_CASE(head_response_has_length_and_no_body) {
  it::HttpConnection conn = server.connect();
  conn.send(it::make_request("HEAD", "/h?bytes=1234"));
  const it::Response r = conn.expect_head_response();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("Content-Length").value_or("<none>") == "1234");
  BOOST_TEST(conn.quiet_for(200ms),
             "bytes after a HEAD response: " << it::printable(conn.buffered()));
  conn.send(it::get_request("/g?bytes=1234"));
  const it::Response g = conn.expect_response();
  BOOST_TEST(g.status == 200);
  BOOST_TEST((g.body == it::payload(0, 1234)));
  // The upstream connection was reused after the HEAD: its framing was understood too.
  BOOST_TEST(backend.connections() == 1U);
  const auto seen = backend.seen();
  BOOST_TEST_REQUIRE(seen.size() == 2U);
  BOOST_TEST(seen[0].method == "HEAD");
}

BOOST_AUTO_TEST_CASE(no_content_and_not_modified_have_no_body) {
  it::HttpConnection conn = server.connect();
  for (int status : {204, 304}) {
    BOOST_TEST_CONTEXT("status " << status) {
      conn.send(it::get_request("/s?status=" + std::to_string(status)));
      const it::Response r = conn.expect_response();
      BOOST_TEST(r.status == status);
      BOOST_TEST(r.body.empty());
      BOOST_TEST(r.header_count("Transfer-Encoding") == 0U);
      if (status == 204) BOOST_TEST(r.header_count("Content-Length") == 0U);
      BOOST_TEST(r.header("ETag").value_or("") == "\"e1\"");
      BOOST_TEST(r.header("X-Status").value_or("") == std::to_string(status));
      BOOST_TEST(conn.quiet_for(100ms), "stray bytes: " << it::printable(conn.buffered()));
    }
  }
  conn.send(it::get_request("/after"));
  BOOST_TEST(it::parse_echo(conn.expect_response().body).target == "/after");
  BOOST_TEST(backend.connections() == 1U);
}

BOOST_AUTO_TEST_CASE(interim_responses_are_not_forwarded) {
  it::HttpConnection conn = server.connect();
  conn.send(it::get_request("/i?interim=1"));
  const it::Response r = conn.expect_response();
  BOOST_TEST(r.status == 200, "first response the client saw: " << it::printable(r.raw_head));
  BOOST_TEST(r.header_count("Link") == 0U);
  BOOST_TEST(it::parse_echo(r.body).target == "/i?interim=1");
  conn.send(it::make_request("POST", "/i?interim=1", "localhost", "Content-Length: 3\r\n") + "abc");
  const it::Response p = conn.expect_response();
  BOOST_TEST(p.status == 200, "first response the client saw: " << it::printable(p.raw_head));
  const it::Echo e = it::parse_echo(p.body);
  BOOST_TEST(e.body_checksum == it::fnv64_hex("abc"));
  BOOST_TEST(conn.quiet_for(100ms));
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_proxied_in_order) {
  it::HttpConnection conn = server.connect();
  const std::string body = it::pseudo_random_bytes(100000, 5);
  conn.send(it::get_request("/p1") +
            it::make_request("POST", "/p2", "localhost",
                             "Content-Length: " + std::to_string(body.size()) + "\r\n") +
            body + it::make_request("HEAD", "/p3?bytes=10") + it::get_request("/p4?bytes=77"));
  BOOST_TEST(it::parse_echo(conn.expect_response().body).target == "/p1");
  const it::Echo e2 = it::parse_echo(conn.expect_response().body);
  BOOST_TEST(e2.target == "/p2");
  BOOST_TEST(e2.body_checksum == it::fnv64_hex(body));
  const it::Response r3 = conn.expect_head_response();
  BOOST_TEST(r3.header("Content-Length").value_or("") == "10");
  const it::Response r4 = conn.expect_response();
  BOOST_TEST((r4.body == it::payload(0, 77)));
  BOOST_TEST(conn.quiet_for(100ms));
}

BOOST_AUTO_TEST_SUITE_END()
