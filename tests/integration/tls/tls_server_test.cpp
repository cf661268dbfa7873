// TLS termination: SNI picks the certificate, ALPN says http/1.1, old protocols are refused,
// garbage handshakes cost one connection and never a worker, keep-alive and large files are
// byte-exact over TLS, a proxy works behind a TLS listener, and the handshake has a timeout.
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "../harness/backend.hpp"
#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "tls_support_configs.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const std::string kWorkerTitle = "serverd: worker process";

it::TlsOptions with_sni(const std::string& name) {
  it::TlsOptions o;
  o.sni = name;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_server)

BOOST_AUTO_TEST_CASE(sni_selects_the_certificate_and_alpn_is_http11) {
  it::TestServer server(it::two_server_config(), it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsInfo info;
    it::Response r = it::tls_get(server.port(), "/", with_sni("b.test"), &info, "b.test");
    BOOST_TEST(info.peer_common_name == "b.test");
    BOOST_TEST(info.alpn == "http/1.1");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "server b\n");

    r = it::tls_get(server.port(), "/", with_sni("A.TEST"), &info, "a.test");
    BOOST_TEST(info.peer_common_name == "a.test");
    BOOST_TEST(r.body == "server a\n");

    // No SNI, or a name nobody serves: the default server's certificate.
    it::TlsOptions none;
    it::tls_get(server.port(), "/", none, &info);
    BOOST_TEST(info.peer_common_name == "a.test");
    it::tls_get(server.port(), "/", with_sni("nobody.test"), &info);
    BOOST_TEST(info.peer_common_name == "a.test");

    // A client that offers no ALPN still gets HTTP/1.1; one that offers only h2 is not refused.
    it::TlsOptions h2 = with_sni("b.test");
    h2.alpn = {"h2"};
    r = it::tls_get(server.port(), "/", h2, &info, "b.test");
    BOOST_TEST(info.alpn == "");
    BOOST_TEST(r.status == 200);

    // Verification against the test CA works for the name.
    it::TlsOptions verified = with_sni("b.test");
    verified.ca_file = server.dir() / "ca.pem";
    it::tls_get(server.port(), "/", verified, &info, "b.test");
    BOOST_TEST(info.ok);
  }
}

BOOST_AUTO_TEST_CASE(only_tls12_and_tls13_are_offered) {
  it::TestServer server(it::two_server_config(1), it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    for (int old : {TLS1_VERSION, TLS1_1_VERSION}) {
      it::TlsOptions o = with_sni("a.test");
      o.min_version = old;
      o.max_version = old;
      it::TlsInfo info;
      it::HttpConnection c = it::tls_connect(server.port(), o, &info);
      BOOST_TEST(!info.ok, "TLS version " << old << " was accepted");
    }
    it::TlsOptions v12 = with_sni("a.test");
    v12.max_version = TLS1_2_VERSION;
    it::TlsInfo info;
    BOOST_TEST(it::tls_get(server.port(), "/", v12, &info).status == 200);
    BOOST_TEST(info.version == "TLSv1.2");
    BOOST_TEST(info.cipher.find("GCM") != std::string::npos);
    // A client offering only a weak (non-forward-secret) TLS 1.2 cipher is refused.
    it::TlsOptions weak = v12;
    weak.ciphers = "AES128-SHA";
    it::HttpConnection c = it::tls_connect(server.port(), weak, &info);
    BOOST_TEST(!info.ok);
    BOOST_TEST(it::tls_get(server.port(), "/", with_sni("a.test"), &info).status == 200);
    BOOST_TEST(info.version == "TLSv1.3");
    BOOST_TEST(server.wait_for_log("TLS handshake failed"));
  }
}

BOOST_AUTO_TEST_CASE(garbage_handshakes_leave_every_worker_alive) {
  it::TestServer server(it::two_server_config(2), it::make_two_certs);
  // The master listens before its workers are up: wait for both (bounded).
  BOOST_TEST_REQUIRE(it::wait_until(
      [&] { return it::children_titled(server.process().pid(), kWorkerTitle).size() == 2u; }, 5s));
  BOOST_TEST_REQUIRE(it::tls_get(server.port(), "/", with_sni("a.test")).status == 200);
  const auto workers = it::children_titled(server.process().pid(), kWorkerTitle);
  // A real ClientHello's first bytes, to cut off in the middle.
  // The start of a ClientHello: a record header announcing more than is sent.
  const std::string hello =
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(40, 'x');
  for (int i = 0; i < 200; ++i) {
    it::HttpConnection c = it::HttpConnection::connect(server.port());
    switch (i % 4) {
      case 0:
        c.try_send(it::pseudo_random_bytes(300, static_cast<std::uint32_t>(i)));
        break;
      case 1:
        c.try_send(hello);
        break;  // half a handshake, then gone
      case 2:
        c.try_send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        break;  // plaintext
      case 3:
        break;  // connects and vanishes
    }
    if (i % 8 == 0) c.wait_for_close(200ms);
  }
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    BOOST_TEST(it::tls_get(server.port(), "/", with_sni("b.test")).status == 200);
    BOOST_TEST(it::children_titled(server.process().pid(), kWorkerTitle) == workers);
    BOOST_TEST(!it::contains(server.error_log(), "worker #0 exited"));
    BOOST_TEST(it::contains(server.error_log(), "TLS handshake failed"));
  }
}

BOOST_AUTO_TEST_CASE(handshake_timeout_closes_a_silent_client) {
  it::TestServer server(it::two_server_config(1, "", ""),
                        [](const it::TempDir& d) { it::make_two_certs(d); });
  // Rewrite with a short handshake timeout and reload.
  std::string config = it::substitute_port(it::two_server_config(1), server.port());
  const std::string from = "key = \"a.key\"";
  config.replace(config.find(from), from.size(), from + ", handshake_timeout = \"300ms\"");
  it::write_file_atomically(server.config_path(), config);
  const it::CommandResult r =
      it::run_serverd({"-s", "reload", "-c", server.config_path().string()}, 20s);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.output());
  it::HttpConnection c = it::HttpConnection::connect(server.port());
  c.try_send("\x16\x03\x01");  // a record header, then silence
  const it::CloseResult closed = c.wait_for_close(3s);
  BOOST_TEST(static_cast<int>(closed.kind) == static_cast<int>(it::CloseKind::fin));
  BOOST_TEST(closed.elapsed < 2s);
  BOOST_TEST(server.wait_for_log("TLS handshake timed out"), server.diagnostics());
}

BOOST_AUTO_TEST_CASE(keep_alive_and_a_large_file_over_tls_are_byte_exact) {
  const std::string big = it::pseudo_random_bytes(3 * 1024 * 1024 + 123, 7);
  const std::string small = it::pseudo_random_bytes(5000, 8);
  std::string config = it::config_prelude() +
                       "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n" +
                       "server_name = [\"localhost\"]\n" + it::tls_line("a") +
                       "\n  [[server.location]]\n  path = \"/\"\n  root = \"html\"\n";
  it::TestServer server(config, [&](const it::TempDir& d) {
    it::make_two_certs(d);
    d.write("html/big.bin", big);
    d.write("html/small.bin", small);
  });
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsInfo info;
    it::HttpConnection c = it::tls_connect(server.port(), with_sni("localhost"), &info);
    BOOST_TEST_REQUIRE(info.ok, info.error);
    for (int round = 0; round < 3; ++round) {
      c.send(it::get_request("/small.bin"));
      it::Response r = c.expect_response();
      BOOST_TEST(r.status == 200);
      BOOST_TEST((r.body == small));
      c.send(it::get_request("/big.bin"));
      it::ReadOptions slow;
      slow.timeout = 15s;
      r = c.expect_response(slow);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body.size() == big.size());
      BOOST_TEST((r.body == big));
    }
    // Pipelined requests in one TLS record.
    c.send(it::get_request("/small.bin") + it::get_request("/small.bin"));
    BOOST_TEST((c.expect_response().body == small));
    BOOST_TEST((c.expect_response().body == small));
  }
}

BOOST_AUTO_TEST_CASE(proxying_behind_a_tls_listener) {
  it::TestBackend backend;
  std::string config =
      it::config_prelude() +
      "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n" +
      "server_name = [\"localhost\"]\n" + it::tls_line("a") +
      "\n  [[server.location]]\n  path = \"/\"\n  proxy_pass = \"http://127.0.0.1:" +
      std::to_string(backend.port()) + "\"\n";
  it::TestServer server(config, it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsInfo info;
    it::HttpConnection c = it::tls_connect(server.port(), with_sni("localhost"), &info);
    BOOST_TEST_REQUIRE(info.ok, info.error);
    for (int i = 0; i < 3; ++i) {
      c.send(it::get_request("/echo?x=" + std::to_string(i)));
      it::Response r = c.expect_response();
      BOOST_TEST(r.status == 200);
      const it::Echo e = it::parse_echo(r.body);
      BOOST_TEST(e.header("X-Forwarded-Proto").value_or("") == "https");
    }
    c.send(it::get_request("/data?bytes=1000000"));
    it::Response r = c.expect_response();
    BOOST_TEST(r.body.size() == 1000000u);
    BOOST_TEST((r.body == it::payload(0, 1000000)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
