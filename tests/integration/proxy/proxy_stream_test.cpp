// Streaming through the proxy: a 50 MB response to a slow client with bounded worker memory,
// and a WebSocket-style tunnel (101, then bytes both ways, then close).
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/proxy_support.hpp"

namespace it = serverd::itest;
namespace px = serverd::itest::proxy;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct StreamProxy {
  it::TestBackend backend{it::BackendOptions{"b1"}};
  it::TestServer server{px::config(px::upstream("app", {backend.address()}, "keepalive = 8"),
                                   px::location("/", "http://app"))};
};

const char* const kUpgrade =
    "GET /chat HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// Sends the handshake and checks the 101; returns what followed it so far.
std::string handshake(it::HttpConnection& conn) {
  conn.send(kUpgrade);
  const it::Response r = conn.expect_response();
  BOOST_TEST_CONTEXT("handshake response: " << it::printable(r.raw_head)) {
    BOOST_TEST_REQUIRE(r.status == 101);
    BOOST_TEST(r.header("Upgrade").value_or("") == "websocket");
    std::string connection = r.header("Connection").value_or("");
    for (auto& c : connection) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    BOOST_TEST(connection == "upgrade");
    BOOST_TEST(r.header("Sec-WebSocket-Accept").value_or("") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    BOOST_TEST(r.header_count("Content-Length") == 0U);
    BOOST_TEST(r.header_count("Transfer-Encoding") == 0U);
  }
  return conn.buffered();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(proxy_streams, StreamProxy)

BOOST_AUTO_TEST_CASE(large_response_to_a_slow_reader_keeps_worker_memory_bounded) {
  constexpr std::uint64_t kSize = 50ULL * 1024 * 1024;
  const auto workers = px::worker_pids(server.process());
  BOOST_TEST_REQUIRE(workers.size() == 1U, "workers: " << workers.size());
  BOOST_TEST_REQUIRE(server.get("/warm-up").status == 200);
  const long base_kib = px::total_rss_kib(workers);
  BOOST_TEST_REQUIRE(base_kib > 0);
  const std::string expected_sum = it::payload_checksum(kSize);

  it::HttpConnection conn = server.connect();
  const int rcvbuf = 128 * 1024;
  ::setsockopt(conn.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  conn.send(it::get_request("/big?bytes=" + std::to_string(kSize)));
  std::string data;
  BOOST_TEST_REQUIRE(px::read_until(conn.fd(), data, "\r\n\r\n", 5s), it::printable(data));
  const std::size_t head_end = data.find("\r\n\r\n") + 4;
  const std::string head = data.substr(0, head_end);
  BOOST_TEST_REQUIRE(head.rfind("HTTP/1.1 200 ", 0) == 0, it::printable(head));
  BOOST_TEST(it::contains(head, "\r\nContent-Length: " + std::to_string(kSize) + "\r\n"),
             it::printable(head));
  it::Fnv64 fnv;
  fnv.update(std::string_view(data).substr(head_end));
  std::uint64_t got = data.size() - head_end;
  long peak_kib = base_kib;
  auto sample = [&] { peak_kib = std::max(peak_kib, px::total_rss_kib(workers)); };

  // About 1 MB/s for 3 s.
  const auto start = Clock::now();
  char buf[64 * 1024];
  for (int i = 0; i < 10000 && Clock::now() - start < 3s && got < kSize; ++i) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    const std::uint64_t allowed = static_cast<std::uint64_t>(ms) * 1024 * 1024 / 1000;
    while (got < allowed && got < kSize) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, allowed - got));
      const ssize_t n = ::recv(conn.fd(), buf, want, MSG_DONTWAIT);
      if (n <= 0) break;
      fnv.update(std::string_view(buf, static_cast<std::size_t>(n)));
      got += static_cast<std::uint64_t>(n);
    }
    if (i % 5 == 0) sample();
    std::this_thread::sleep_for(20ms);
  }
  const std::uint64_t slow_bytes = got;
  BOOST_TEST(slow_bytes < 6ULL * 1024 * 1024, "the slow phase read " << slow_bytes << " bytes");

  // Then as fast as possible (bounded).
  const auto fast_deadline = Clock::now() + 20s;
  for (int i = 0; i < 10000000 && got < kSize && Clock::now() < fast_deadline; ++i) {
    pollfd p{conn.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::recv(conn.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    fnv.update(std::string_view(buf, static_cast<std::size_t>(n)));
    got += static_cast<std::uint64_t>(n);
    if (i % 256 == 0) sample();
  }
  sample();
  BOOST_TEST(got == kSize);
  BOOST_TEST(fnv.hex() == expected_sum, "the 50 MB body differs from what the upstream sent");
  const long growth_kib = peak_kib - base_kib;
  BOOST_TEST_MESSAGE("worker RSS " << base_kib << " KiB before, peak " << peak_kib
                                   << " KiB (growth " << growth_kib << " KiB)");
  BOOST_TEST(growth_kib < 40 * 1024, "worker RSS grew by " << growth_kib << " KiB");
  // The client connection is still in sync.
  conn.send(it::get_request("/after"));
  BOOST_TEST(conn.expect_response().status == 200);
}

BOOST_AUTO_TEST_CASE(websocket_echo_through_the_tunnel_then_upstream_close) {
  it::HttpConnection conn = server.connect();
  std::string in = handshake(conn);
  BOOST_TEST_REQUIRE(px::read_until(conn.fd(), in, "welcome\n", 3s), it::printable(in));
  BOOST_TEST(in == "welcome\n");

  // The upstream saw a handshake it can answer.
  const auto seen = backend.seen();
  BOOST_TEST_REQUIRE(seen.size() == 1U);
  BOOST_TEST(seen[0].header("Upgrade").value_or("") == "websocket");
  BOOST_TEST(it::contains(seen[0].header("Connection").value_or(""), "pgrade"));
  BOOST_TEST(seen[0].header("Sec-WebSocket-Key").value_or("") == "dGhlIHNhbXBsZSBub25jZQ==");

  std::string echoed;
  conn.send("ping 1\n");
  BOOST_TEST(px::read_until(conn.fd(), echoed, "ping 1\n", 3s), it::printable(echoed));
  BOOST_TEST(echoed == "ping 1\n");

  // A larger binary message, both ways, byte-exact.
  const std::string blob = it::pseudo_random_bytes(300 * 1024, 99) + "|end|";
  echoed.clear();
  std::thread writer([&] { conn.send(blob, 10s); });
  const bool all = px::read_until(conn.fd(), echoed, "|end|", 10s);
  writer.join();
  BOOST_TEST(all, "error log:\n" << server.error_log());
  BOOST_TEST(echoed.size() == blob.size());
  BOOST_TEST((echoed == blob), "tunnel corrupted the bytes");

  // The upstream closes after "bye\n": the client sees the echo, then a FIN.
  conn.send("bye\n");
  const it::CloseResult c = conn.wait_for_close(3s);
  BOOST_TEST(it::to_string(c.kind) == std::string("fin"));
  BOOST_TEST(c.data.ends_with("bye\n"), it::printable(c.data));
}

BOOST_AUTO_TEST_CASE(websocket_client_close_reaches_the_upstream) {
  it::HttpConnection conn = server.connect();
  std::string in = handshake(conn);
  BOOST_TEST_REQUIRE(px::read_until(conn.fd(), in, "welcome\n", 3s));
  // Several messages, some time apart: the upstream must not see end of input before the
  // client ends it (a WebSocket server closes on EOF).
  for (const char* message : {"abc", "def", "ghi"}) {
    std::this_thread::sleep_for(100ms);
    conn.send(message);
    std::string echoed;
    BOOST_TEST(px::read_until(conn.fd(), echoed, message, 3s),
               "no echo of \"" << message << "\" (got \"" << it::printable(echoed) << "\")\n"
                               << server.error_log());
  }
  BOOST_TEST(backend.open_connections() == 1U, "the upstream side of the tunnel closed early");
  // Half-close from the client: the upstream sees end of input, closes, and so does serverd.
  conn.shutdown_write();
  const it::CloseResult c = conn.wait_for_close(3s);
  BOOST_TEST(it::to_string(c.kind) == std::string("fin"));
  BOOST_TEST(it::ps::wait_until([&] { return backend.open_connections() == 0; }, 3s),
             "the upstream side of the tunnel stayed open");
  // The worker is fine afterwards.
  BOOST_TEST(server.get("/after").status == 200);
}

BOOST_AUTO_TEST_CASE(client_leaving_mid_response_frees_the_upstream_connection) {
  {
    it::HttpConnection conn = server.connect();
    conn.send(it::get_request("/big?bytes=" + std::to_string(50 * 1024 * 1024)));
    std::string data;
    BOOST_TEST_REQUIRE(px::read_until(conn.fd(), data, "\r\n\r\n", 5s));
    // Read a little, then go away with most of the body unsent.
    std::string more;
    px::read_until(conn.fd(), more, "no-such-marker", 200ms);
  }
  // The upstream connection is closed, not pooled half-read.
  BOOST_TEST(it::ps::wait_until([&] { return backend.open_connections() == 0; }, 3s),
             "the upstream connection of an abandoned response stays open");
  const it::Response r = server.get("/after");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(it::parse_echo(r.body).connection == 2U);
  BOOST_TEST(px::log_lines_with(server, {"[crit"}) == 0U, server.error_log());
}

BOOST_AUTO_TEST_SUITE_END()
