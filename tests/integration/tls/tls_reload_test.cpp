// TLS across reloads and workers: certificates are re-read on reload, a broken key fails the
// reload (with file:line:col) while the old certificate keeps serving, config errors name the
// place, and sessions resume on any worker and after a reload (shared ticket keys).
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "../harness/checks.hpp"
#include "../harness/process_runner.hpp"
#include "tls_support_configs.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

it::CommandResult reload(const it::TestServer& server) {
  return it::run_serverd({"-s", "reload", "-c", server.config_path().string()}, 20s);
}

std::string peer_name(const it::TestServer& server, const std::string& sni) {
  it::TlsOptions o;
  o.sni = sni;
  it::TlsInfo info;
  it::tls_get(server.port(), "/", o, &info, sni);
  return info.peer_common_name;
}

bool has_location(const std::string& text) {
  static const std::regex re(R"(serverd\.toml:[0-9]+:[0-9]+)");
  return std::regex_search(text, re);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_reload)

BOOST_AUTO_TEST_CASE(a_certificate_replaced_on_disk_is_served_after_reload) {
  it::TestServer server(it::two_server_config(), it::make_two_certs);
  BOOST_TEST_REQUIRE(peer_name(server, "b.test") == "b.test");
  // New certificate for b (another CN) written over the old files.
  it::make_cert(server.dir().path(), "ca", "b", "b-renewed.test", {"DNS:b.test", "DNS:localhost"});
  BOOST_TEST(peer_name(server, "b.test") == "b.test");  // not re-read by itself
  server.process().send_signal(SIGHUP);
  BOOST_TEST(it::wait_until([&] { return peer_name(server, "b.test") == "b-renewed.test"; }, 5s),
             server.diagnostics());
  BOOST_TEST(peer_name(server, "a.test") == "a.test");
}

BOOST_AUTO_TEST_CASE(a_broken_key_fails_the_reload_and_the_old_certificate_serves) {
  it::TestServer server(it::two_server_config(), it::make_two_certs);
  BOOST_TEST_REQUIRE(peer_name(server, "b.test") == "b.test");
  // b's certificate renewed, but its key replaced by a's: a mismatch.
  it::make_cert(server.dir().path(), "ca", "b", "b-renewed.test", {"DNS:b.test"});
  std::filesystem::copy_file(server.dir() / "a.key", server.dir() / "b.key",
                             std::filesystem::copy_options::overwrite_existing);
  it::CommandResult r = reload(server);
  BOOST_TEST_CONTEXT(r.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(has_location(r.output()));
    BOOST_TEST(it::contains(r.output(), "does not match certificate"));
    BOOST_TEST(peer_name(server, "b.test") == "b.test");
  }
  // A key that is not PEM at all, and an unreadable one.
  it::write_file_atomically(server.dir() / "b.key", "not a key\n");
  r = reload(server);
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(it::contains(r.output(), "invalid key"), r.output());
  std::filesystem::remove(server.dir() / "b.key");
  r = reload(server);
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(it::contains(r.output(), "cannot read key"), r.output());
  BOOST_TEST(peer_name(server, "b.test") == "b.test");
  BOOST_TEST(it::contains(server.error_log(), "does not match certificate"));
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_place) {
  it::TempDir dir;
  it::make_two_certs(dir);
  auto check = [&](const std::string& config, const std::string& expected) {
    dir.write("serverd.toml", it::substitute_port(config, 1));
    const it::CommandResult r = it::run_serverd({"-t", "-c", (dir / "serverd.toml").string()});
    BOOST_TEST_CONTEXT(config << "\n---\n" << r.output()) {
      BOOST_TEST(r.exit_code != 0);
      BOOST_TEST(has_location(r.output()));
      BOOST_TEST(it::contains(r.output(), expected));
    }
  };
  const std::string head =
      it::config_prelude() +
      "[[server]]\nlisten = [{ address = \"127.0.0.1:{PORT}\", tls = true }]\n";
  const std::string loc = "\n  [[server.location]]\n  path = \"/\"\n  return = { status = 204 }\n";
  check(head + loc, "has tls = true but this [[server]] has no certificate");
  check(head + it::tls_line("missing") + loc, "cannot read certificate");
  check(head + "tls = { certificate = \"a.pem\", key = \"b.key\" }\n" + loc,
        "does not match certificate");
  check(head + it::tls_line("a", "protocols = [\"TLSv1.1\", \"TLSv1.2\"]") + loc,
        "unknown TLS protocol \"TLSv1.1\"");
  check(head + it::tls_line("a", "ciphers = \"NO-SUCH-CIPHER\"") + loc, "invalid \"ciphers\"");
  check(head + it::tls_line("a", "verify_client = \"on\"") + loc, "needs \"client_certificate\"");
  check(head + it::tls_line("a", "certifcate = \"x\"") + loc, "unknown key \"certifcate\"");
  // A good one passes -t.
  dir.write("serverd.toml", it::substitute_port(head + it::tls_line("a") + loc, 1));
  const it::CommandResult ok = it::run_serverd({"-t", "-c", (dir / "serverd.toml").string()});
  BOOST_TEST(ok.exit_code == 0, ok.output());
}

BOOST_AUTO_TEST_CASE(sessions_resume_on_every_worker_and_after_a_reload) {
  // reuseport: the kernel spreads connections over the workers by their source port.
  it::TestServer server(it::two_server_config(4, "", ", reuseport = true"), it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
      it::TlsOptions o;
      o.sni = "b.test";
      o.max_version = version;
      it::TlsInfo info;
      it::HttpConnection first = it::tls_connect(server.port(), o, &info);
      BOOST_TEST_REQUIRE(info.ok, info.error);
      BOOST_TEST(!info.reused);
      first.send(it::get_request("/", "b.test"));
      BOOST_TEST(first.expect_response().status == 200);
      o.session = it::tls_session(first);
      BOOST_TEST_REQUIRE(o.session != nullptr);
      int reused = 0;
      for (int i = 0; i < 16; ++i) {
        it::HttpConnection c = it::tls_connect(server.port(), o, &info);
        BOOST_TEST_REQUIRE(info.ok, info.error);
        c.send(it::get_request("/", "b.test"));
        BOOST_TEST(c.expect_response().body == "server b\n");
        if (info.reused) ++reused;
      }
      BOOST_TEST(reused == 16, "version " << version << ": " << reused << " of 16 resumed");

      // A new generation of workers (new processes) still resumes the old session.
      const it::CommandResult r = reload(server);
      BOOST_TEST_REQUIRE(r.exit_code == 0, r.output());
      reused = 0;
      for (int i = 0; i < 8; ++i) {
        it::HttpConnection c = it::tls_connect(server.port(), o, &info);
        BOOST_TEST_REQUIRE(info.ok, info.error);
        c.send(it::get_request("/", "b.test"));
        BOOST_TEST(c.expect_response().status == 200);
        if (info.reused) ++reused;
      }
      BOOST_TEST(reused == 8, "after reload, version " << version << ": " << reused << " of 8");
    }
  }
}

BOOST_AUTO_TEST_CASE(tls13_resumption_chains_with_in_memory_sessions) {
  // A client that always offers the session of its previous connection, held in memory (wrk,
  // connection pools): OpenSSL uses a TLS 1.3 session for one resumption only, so every
  // resumed connection must bring a fresh ticket or the next one is a full handshake.
  it::TestServer server(it::two_server_config(1, ""), it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsOptions o;
    o.sni = "b.test";
    o.min_version = TLS1_3_VERSION;
    o.session_in_memory = true;
    int reused = 0;
    for (int i = 0; i < 8; ++i) {
      it::TlsInfo info;
      it::HttpConnection c = it::tls_connect(server.port(), o, &info);
      BOOST_TEST_REQUIRE(info.ok, info.error);
      BOOST_TEST(info.version == "TLSv1.3");
      c.send(it::get_request("/", "b.test"));
      BOOST_TEST(c.expect_response().body == "server b\n");
      if (info.reused) ++reused;
      o.session = it::tls_session(c);
      BOOST_TEST_REQUIRE(o.session != nullptr);
    }
    BOOST_TEST(reused == 7, reused << " of the 7 reconnections resumed");
  }
}

BOOST_AUTO_TEST_CASE(ticket_keys_rotate_and_old_tickets_still_resume) {
  it::TestServer server(it::two_server_config(2, "tls_ticket_key_rotation = \"1s\"\n"),
                        it::make_two_certs);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    it::TlsOptions o;
    o.sni = "a.test";
    it::TlsInfo info;
    it::HttpConnection first = it::tls_connect(server.port(), o, &info);
    first.send(it::get_request("/", "a.test"));
    first.expect_response();
    o.session = it::tls_session(first);
    BOOST_TEST_REQUIRE(server.wait_for_log("rotated the TLS session-ticket key (2 keys", 5s));
    {
      it::HttpConnection c = it::tls_connect(server.port(), o, &info);
      c.send(it::get_request("/", "a.test"));
      c.expect_response();
      BOOST_TEST(info.reused, "a ticket under the previous key must still resume");
    }
    // Three rotations later the key is gone: a full handshake, still successful.
    BOOST_TEST_REQUIRE(server.wait_for_log("rotated the TLS session-ticket key (3 keys", 5s));
    BOOST_TEST(it::wait_until(
        [&] { return it::count_occurrences(server.error_log(), "rotated the TLS") >= 4; }, 6s));
    it::tls_get(server.port(), "/", o, &info, "a.test");
    BOOST_TEST(info.ok);
    BOOST_TEST(!info.reused);
  }
}

BOOST_AUTO_TEST_SUITE_END()
