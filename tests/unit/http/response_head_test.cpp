#include "http/response_head.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using serverd::BodyFraming;
using serverd::HeadOptions;
using serverd::Response;

namespace {

const char* const kDate = "Thu, 03 Dec 2026 06:00:00 GMT";

std::string head_of(const Response& r, HeadOptions o) {
  o.date = kDate;
  fmt::memory_buffer out;
  serverd::write_response_head(out, r, o);
  return {out.data(), out.size()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_head)

BOOST_AUTO_TEST_CASE(keep_alive_with_length) {
  Response r;
  r.headers.add("Content-Type", "text/plain");
  HeadOptions o;
  o.framing = BodyFraming::length;
  o.content_length = 42;
  o.keep_alive = true;
  BOOST_TEST(head_of(r, o) ==
             "HTTP/1.1 200 OK\r\nServer: serverd\r\nDate: Thu, 03 Dec 2026 06:00:00 GMT\r\n"
             "Content-Type: text/plain\r\nContent-Length: 42\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(framing_headers_of_a_module_are_dropped) {
  Response r;
  r.status = 404;
  r.headers.add("Content-Length", "7");
  r.headers.add("transfer-encoding", "gzip");
  r.headers.add("Connection", "keep-alive");
  r.headers.add("Upgrade", "websocket");
  r.headers.add("X-Kept", "yes");
  HeadOptions o;
  o.framing = BodyFraming::chunked;
  BOOST_TEST(head_of(r, o) ==
             "HTTP/1.1 404 Not Found\r\nServer: serverd\r\nDate: Thu, 03 Dec 2026 06:00:00 GMT\r\n"
             "X-Kept: yes\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(http10_keep_alive_is_said) {
  Response r;
  r.status = 204;
  HeadOptions o;
  o.keep_alive = true;
  o.http10 = true;
  BOOST_TEST(head_of(r, o) ==
             "HTTP/1.1 204 No Content\r\nServer: serverd\r\nDate: Thu, 03 Dec 2026 06:00:00 GMT\r\n"
             "Connection: keep-alive\r\n\r\n");
  o.keep_alive = false;
  o.framing = BodyFraming::close;
  BOOST_TEST(head_of(r, o).ends_with("Connection: close\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(switching_protocols_keeps_upgrade) {
  Response r;
  r.status = 101;
  r.headers.add("Upgrade", "websocket");
  r.headers.add("Connection", "Upgrade");
  HeadOptions o;
  BOOST_TEST(
      head_of(r, o) ==
      "HTTP/1.1 101 Switching Protocols\r\nServer: serverd\r\n"
      "Date: Thu, 03 Dec 2026 06:00:00 GMT\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
