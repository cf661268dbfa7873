// OCSP stapling from a configured response file, client-certificate verification per server
// with the verified subject in templates, and HTTP -> HTTPS redirects with `return`.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "tls_support_configs.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

// DIR/a.ocsp: a signed OCSP response for a.pem (status "unknown": an empty index).
void make_ocsp_response(const it::TempDir& d) {
  d.write("index.txt", "");
  const auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const it::CommandResult r = it::run_command(argv, 20s, d.path());
    if (r.exit_code != 0) throw std::runtime_error("openssl ocsp: " + r.output());
  };
  run({"ocsp", "-issuer", "ca.pem", "-cert", "a.pem", "-reqout", "req.der", "-no_nonce"});
  run({"ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem",
       "-reqin", "req.der", "-respout", "a.ocsp", "-ndays", "1"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_extras)

BOOST_AUTO_TEST_CASE(ocsp_response_is_stapled) {
  std::string config = it::config_prelude() +
                       "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n" +
                       "server_name = [\"a.test\"]\n" +
                       it::tls_line("a", "ocsp_response = \"a.ocsp\"") +
                       "\n  [[server.location]]\n  path = \"/\"\n  return = { status = 204 }\n";
  it::TestServer server(config, [](const it::TempDir& d) {
    it::make_two_certs(d);
    make_ocsp_response(d);
  });
  const it::CommandResult r = it::run_command(
      {"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(server.port()),
       "-servername", "a.test", "-status"},
      10s);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(it::contains(r.out, "OCSP Response Status: successful"));
    BOOST_TEST(!it::contains(r.out, "no response sent"));
  }
  // A file that is not an OCSP response is a config error.
  it::write_file_atomically(server.dir() / "a.ocsp", "garbage");
  const it::CommandResult t = it::run_serverd({"-t", "-c", server.config_path().string()});
  BOOST_TEST(t.exit_code != 0);
  BOOST_TEST(it::contains(t.output(), "invalid OCSP response"), t.output());
}

BOOST_AUTO_TEST_CASE(client_certificates_per_server_and_the_subject_variable) {
  // a.test requires a client certificate, b.test does not; both on one address.
  std::string config = it::config_prelude();
  config +=
      "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
      "server_name = [\"a.test\"]\n" +
      it::tls_line("a", "client_certificate = \"ca.pem\", verify_client = \"on\"") +
      "\n  [[server.location]]\n  path = \"/\"\n"
      "  return = { status = 200, body = \"a $ssl_client_verify $ssl_client_s_dn\\n\" }\n\n";
  config +=
      "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
      "server_name = [\"b.test\"]\n" +
      it::tls_line("b") +
      "\n  [[server.location]]\n  path = \"/\"\n"
      "  return = { status = 200, body = \"b $https $ssl_client_verify\\n\" }\n";
  it::TestServer server(config, [](const it::TempDir& d) {
    it::make_two_certs(d);
    it::make_cert(d.path(), "ca", "client", "alice", {"DNS:alice"}, true);
  });
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsOptions o;
    o.sni = "a.test";
    o.cert_file = server.dir() / "client.pem";
    o.key_file = server.dir() / "client.key";
    BOOST_TEST(it::tls_get(server.port(), "/", o, nullptr, "a.test").body ==
               "a SUCCESS CN=alice,O=serverd tests\n");
    // b.test needs none.
    it::TlsOptions b;
    b.sni = "b.test";
    BOOST_TEST(it::tls_get(server.port(), "/", b, nullptr, "b.test").body == "b on NONE\n");
    // Without a certificate: no handshake for a.test ...
    it::TlsOptions none;
    none.sni = "a.test";
    it::TlsInfo info;
    it::HttpConnection c = it::tls_connect(server.port(), none, &info);
    if (info.ok) {  // TLS 1.3 reports the refusal on the first read
      c.try_send(it::get_request("/", "a.test"));
      BOOST_TEST(static_cast<int>(c.read_response().status) !=
                 static_cast<int>(it::ReadStatus::ok));
    }
    // ... and a request for a.test on a connection made for b.test is refused.
    it::HttpConnection via_b = it::tls_connect(server.port(), b, &info);
    BOOST_TEST_REQUIRE(info.ok);
    via_b.send(it::get_request("/", "a.test"));
    BOOST_TEST(via_b.expect_response().status == 400);
  }
}

BOOST_AUTO_TEST_CASE(optional_client_certificates) {
  std::string config =
      it::config_prelude() +
      "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
      "server_name = [\"a.test\"]\n" +
      it::tls_line("a", "client_certificate = \"ca.pem\", verify_client = \"optional\"") +
      "\n  [[server.location]]\n  path = \"/\"\n"
      "  proxy_pass = \"http://127.0.0.1:1\"\n"
      "  proxy_set_header = { X-Client-DN = \"$ssl_client_s_dn\" }\n"
      "\n  [[server.location]]\n  path = \"/who\"\n"
      "  return = { status = 200, body = \"$ssl_client_verify [$ssl_client_s_dn]\\n\" }\n";
  it::TestServer server(config, [](const it::TempDir& d) {
    it::make_two_certs(d);
    it::make_cert(d.path(), "ca", "client", "bob", {"DNS:bob"}, true);
    it::TempDir other;
    it::make_ca(other.path(), "evil", "another CA");
    it::make_cert(other.path(), "evil", "stranger", "mallory", {"DNS:mallory"}, true);
    std::filesystem::copy_file(other / "stranger.pem", d / "stranger.pem");
    std::filesystem::copy_file(other / "stranger.key", d / "stranger.key");
  });
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsOptions o;
    o.sni = "a.test";
    BOOST_TEST(it::tls_get(server.port(), "/who", o, nullptr, "a.test").body == "NONE []\n");
    o.cert_file = server.dir() / "client.pem";
    o.key_file = server.dir() / "client.key";
    BOOST_TEST(it::tls_get(server.port(), "/who", o, nullptr, "a.test").body ==
               "SUCCESS [CN=bob,O=serverd tests]\n");
    // A certificate from another CA is refused, even when optional.
    o.cert_file = server.dir() / "stranger.pem";
    o.key_file = server.dir() / "stranger.key";
    it::TlsInfo info;
    it::HttpConnection c = it::tls_connect(server.port(), o, &info);
    if (info.ok) {
      c.try_send(it::get_request("/who", "a.test"));
      BOOST_TEST(static_cast<int>(c.read_response().status) !=
                 static_cast<int>(it::ReadStatus::ok));
    }
  }
}

BOOST_AUTO_TEST_CASE(http_to_https_redirect_with_return) {
  std::string config = it::config_prelude() +
                       "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"a.test\"]\n"
                       "\n  [[server.location]]\n  path = \"/\"\n"
                       "  return = { status = 301, location = \"https://$host$request_uri\" }\n";
  it::TestServer server(config);
  const it::Response r = server.get("/x?y=1", "a.test");
  BOOST_TEST(r.status == 301);
  BOOST_TEST(r.header("Location").value_or("") == "https://a.test/x?y=1");
}

BOOST_AUTO_TEST_SUITE_END()
