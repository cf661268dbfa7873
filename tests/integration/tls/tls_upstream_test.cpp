// Upstream TLS: proxy_pass "https://..." verifies the backend against a CA file (on by default)
// and its name, sends SNI, keeps pooled TLS connections, presents a client certificate when
// configured, and answers 502 (logged) when verification fails. The TLS backend is a second
// serverd.
#include <boost/test/unit_test.hpp>
#include <set>
#include <sstream>
#include <string>

#include "../harness/checks.hpp"
#include "tls_support_configs.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

// A TLS backend: serverd answering "backend <sni>" and logging each request's client port,
// protocol, SNI and client-certificate subject.
std::string backend_config(const std::string& tls_extra = "") {
  return it::config_prelude() +
         "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
         "server_name = [\"b.test\"]\n" +
         it::tls_line("b", tls_extra) +
         "access_log = \"access.log\"\n"
         "access_log_format = \"$remote_port $ssl_protocol sni=$ssl_server_name "
         "dn=$ssl_client_s_dn\"\n"
         "\n  [[server.location]]\n  path = \"/\"\n"
         "  return = { status = 200, body = \"tls backend\\n\" }\n";
}

std::string front_config(int backend_port, const std::filesystem::path& ca,
                         const std::string& extra = "") {
  return it::config_prelude() +
         "[[upstream]]\nname = \"secure\"\nkeepalive = 4\n"
         "servers = [{ address = \"127.0.0.1:" +
         std::to_string(backend_port) + "\" }]\n\n" +
         "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n"
         "\n  [[server.location]]\n  path = \"/\"\n  proxy_pass = \"https://secure\"\n"
         "  proxy_ssl_name = \"b.test\"\n"
         "  proxy_ssl_trusted_certificate = " +
         it::toml_string(ca.string()) + "\n" + extra +
         "\n  [[server.location]]\n  path = \"/direct/\"\n"
         "  proxy_pass = \"https://127.0.0.1:" +
         std::to_string(backend_port) +
         "/\"\n"
         "  proxy_ssl_trusted_certificate = " +
         it::toml_string(ca.string()) + "\n" + extra;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_upstream)

BOOST_AUTO_TEST_CASE(verified_pooled_and_with_sni) {
  it::TestServer backend(backend_config(), it::make_two_certs);
  it::TestServer front(front_config(backend.port(), backend.dir() / "ca.pem"));
  BOOST_TEST_CONTEXT(front.diagnostics() << "\n--- backend\n" << backend.diagnostics()) {
    it::HttpConnection c = front.connect();
    for (int i = 0; i < 5; ++i) {
      c.send(it::get_request("/x"));
      const it::Response r = c.expect_response();
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == "tls backend\n");
    }
    // By IP address: verified against the certificate's IP entry, no SNI.
    const it::Response direct = front.get("/direct/y");
    BOOST_TEST(direct.status == 200);
    BOOST_TEST(it::wait_until(
        [&] { return lines_of(it::read_file(backend.dir() / "access.log")).size() >= 6; }, 3s));
    const auto lines = lines_of(it::read_file(backend.dir() / "access.log"));
    BOOST_TEST_REQUIRE(lines.size() == 6u);
    std::set<std::string> ports;
    for (std::size_t i = 0; i < 5; ++i) {
      ports.insert(lines[i].substr(0, lines[i].find(' ')));
      BOOST_TEST(it::contains(lines[i], "TLSv1.3 sni=b.test"), lines[i]);
    }
    BOOST_TEST(ports.size() == 1u, "the pooled TLS connection was not reused");
    BOOST_TEST(it::contains(lines[5], "sni=- "), lines[5]);
  }
}

BOOST_AUTO_TEST_CASE(verification_failure_is_a_502) {
  it::TestServer backend(backend_config(), it::make_two_certs);
  it::TempDir other;
  it::make_ca(other.path(), "ca", "some other CA");
  it::TestServer front(front_config(backend.port(), other / "ca.pem"));
  BOOST_TEST_CONTEXT(front.diagnostics()) {
    BOOST_TEST(front.get("/x").status == 502);
    BOOST_TEST(front.wait_for_log("TLS handshake failed"));
    BOOST_TEST(it::contains(front.error_log(), "certificate verify failed"));
  }
  // The right CA but the wrong name.
  std::string renamed = front_config(backend.port(), backend.dir() / "ca.pem");
  const std::string from = "proxy_ssl_name = \"b.test\"";
  renamed.replace(renamed.find(from), from.size(), "proxy_ssl_name = \"wrong.test\"");
  it::TestServer wrong_name(renamed);
  BOOST_TEST(wrong_name.get("/x").status == 502);
  BOOST_TEST(wrong_name.wait_for_log("hostname mismatch"), wrong_name.diagnostics());
  // Verification off: the other CA does not matter.
  it::TestServer unverified(
      front_config(backend.port(), other / "ca.pem", "  proxy_ssl_verify = false\n"));
  BOOST_TEST(unverified.get("/x").status == 200, unverified.diagnostics());
}

BOOST_AUTO_TEST_CASE(client_certificates_mtls) {
  // The backend requires a client certificate signed by its CA; the front presents one.
  it::TestServer backend(backend_config("client_certificate = \"ca.pem\", verify_client = \"on\""),
                         [](const it::TempDir& d) {
                           it::make_two_certs(d);
                           it::make_cert(d.path(), "ca", "client", "front.test", {}, true);
                         });
  BOOST_TEST_CONTEXT(backend.diagnostics()) {
    const std::string cert =
        "  proxy_ssl_certificate = " + it::toml_string((backend.dir() / "client.pem").string()) +
        "\n  proxy_ssl_certificate_key = " +
        it::toml_string((backend.dir() / "client.key").string()) + "\n";
    it::TestServer with(front_config(backend.port(), backend.dir() / "ca.pem", cert));
    BOOST_TEST(with.get("/x").status == 200, with.diagnostics());
    BOOST_TEST(it::wait_until(
                   [&] {
                     return it::contains(it::read_file(backend.dir() / "access.log"),
                                         "dn=CN=front.test,O=serverd tests");
                   },
                   3s),
               it::read_file(backend.dir() / "access.log"));
    it::TestServer without(front_config(backend.port(), backend.dir() / "ca.pem"));
    BOOST_TEST(without.get("/x").status == 502);
    // Straight from a client: no certificate, no handshake; with one, its subject is logged.
    it::TlsOptions o;
    o.sni = "b.test";
    it::TlsInfo info;
    it::HttpConnection c = it::tls_connect(backend.port(), o, &info);
    if (info.ok) {  // TLS 1.3 reports the refusal on the first read
      c.try_send(it::get_request("/", "b.test"));
      BOOST_TEST(static_cast<int>(c.read_response().status) !=
                 static_cast<int>(it::ReadStatus::ok));
    }
    o.cert_file = backend.dir() / "client.pem";
    o.key_file = backend.dir() / "client.key";
    BOOST_TEST(it::tls_get(backend.port(), "/", o, &info, "b.test").status == 200);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls_upstream_sessions)

BOOST_AUTO_TEST_CASE(new_upstream_connections_resume_the_tls_session) {
  it::TestServer backend(
      it::config_prelude() +
          "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n"
          "server_name = [\"b.test\"]\n" +
          it::tls_line("b") +
          "access_log = \"access.log\"\naccess_log_format = \"$remote_port $ssl_session_reused\"\n"
          "\n  [[server.location]]\n  path = \"/\"\n  return = { status = 200, body = \"ok\\n\" "
          "}\n",
      it::make_two_certs);
  // No keep-alive pool: every request opens a new TLS connection to the backend. One worker:
  // the session cache is per worker.
  std::string prelude = it::config_prelude();
  prelude.replace(prelude.find("[main]\n"), 7, "[main]\nworker_processes = 1\n");
  std::string front = prelude +
                      "[[upstream]]\nname = \"nopool\"\nkeepalive = 0\nservers = [{ address = "
                      "\"127.0.0.1:" +
                      std::to_string(backend.port()) +
                      "\" }]\n\n"
                      "[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n"
                      "\n  [[server.location]]\n  path = \"/\"\n"
                      "  proxy_pass = \"https://nopool\"\n"
                      "  proxy_ssl_name = \"b.test\"\n"
                      "  proxy_ssl_trusted_certificate = " +
                      it::toml_string((backend.dir() / "ca.pem").string()) + "\n";
  it::TestServer proxy(front);
  BOOST_TEST_CONTEXT(proxy.diagnostics() << "\n--- backend\n" << backend.diagnostics()) {
    for (int i = 0; i < 4; ++i) BOOST_TEST(proxy.get("/").status == 200);
    BOOST_TEST(it::wait_until(
        [&] { return lines_of(it::read_file(backend.dir() / "access.log")).size() >= 4; }, 3s));
    const auto lines = lines_of(it::read_file(backend.dir() / "access.log"));
    BOOST_TEST_REQUIRE(lines.size() == 4u);
    std::set<std::string> ports;
    for (const auto& l : lines) ports.insert(l.substr(0, l.find(' ')));
    BOOST_TEST(ports.size() == 4u, "expected four connections");
    BOOST_TEST(it::contains(lines[0], " ."), lines[0]);
    for (std::size_t i = 1; i < lines.size(); ++i)
      BOOST_TEST(it::contains(lines[i], " r"), "connection " << i << ": " << lines[i]);
  }
}

BOOST_AUTO_TEST_SUITE_END()
