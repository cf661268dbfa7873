#pragma once
// A real TLS 1.3 connection inside one process: both ends of a handshake over a socket pair,
// for tests of what a request on a TLS connection sees (its TlsSession).
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <memory>

#include "test_cert.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace serverd::test {

// Both ends of a real TLS 1.3 handshake over a socket pair (client sends SNI "a.test").
struct TlsPair {
  std::shared_ptr<const TlsContext> server_ctx;
  std::shared_ptr<const TlsContext> client_ctx;
  int fds[2] = {-1, -1};
  std::unique_ptr<TlsSession> server;
  std::unique_ptr<TlsSession> client;

  TlsPair() {
    TlsServerConfig conf;
    conf.certificate = test_cert_dir() / "a.pem";
    conf.key = test_cert_dir() / "a.key";
    TlsBuildError error;
    server_ctx = TlsContext::build_server(conf, "variables-test", &error);
    BOOST_TEST_REQUIRE(server_ctx != nullptr, error.message);
    TlsClientSettings settings;
    settings.verify = false;
    client_ctx = TlsContext::build_client(settings, &error);
    BOOST_TEST_REQUIRE(client_ctx != nullptr, error.message);
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    server = TlsSession::accept(server_ctx->get(), fds[0], nullptr, nullptr, nullptr);
    client = TlsSession::connect(client_ctx->get(), fds[1], "a.test", "");
    BOOST_TEST_REQUIRE((server && client));
    // Each step only moves bytes already written to the other end: a few rounds suffice.
    int s = 0, c = 0;
    for (int round = 0; round < 100 && (s != 1 || c != 1); ++round) {
      c = client->handshake();
      s = server->handshake();
      BOOST_TEST_REQUIRE((s >= 0 && c >= 0), server->failure() + client->failure());
    }
    BOOST_TEST_REQUIRE((s == 1 && c == 1));
  }
  ~TlsPair() {
    server.reset();
    client.reset();
    for (const int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  TlsPair(const TlsPair&) = delete;
  TlsPair& operator=(const TlsPair&) = delete;
};

}  // namespace serverd::test
