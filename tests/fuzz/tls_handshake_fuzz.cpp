// libFuzzer target: bytes from a client into a server-side TlsSession, as a worker runs it:
// non-blocking handshake() until it finishes or fails, then read() until the stream ends.
// Covers OpenSSL's record and ClientHello parsing behind serverd's own callbacks (SNI
// selection, ALPN, session-ticket keys).
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "../unit/tls/test_cert.hpp"
#include "core/config.hpp"
#include "tls/ticket_keys.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace {

struct Fixture {
  std::shared_ptr<const serverd::TlsContext> context;
  serverd::TicketKeys keys;

  Fixture() {
    const auto& dir = serverd::test::test_cert_dir();
    serverd::TlsServerConfig tls;
    tls.certificate = dir / "a.pem";
    tls.key = dir / "a.key";
    serverd::TlsBuildError error;
    context = serverd::TlsContext::build_server(tls, "serverd-fuzz", &error);
    if (!context) {
      std::fprintf(stderr, "cannot build the TLS context: %s\n", error.message.c_str());
      std::abort();
    }
    // A fixed key, so inputs (and the dictionary) can carry a ticket under a known name.
    serverd::TicketKey key;
    key.name.fill(0x5e);
    key.aes_key.fill(0x11);
    key.hmac_key.fill(0x22);
    keys.add(key);
  }
};

SSL_CTX* select_context(const void* arg, std::string_view name) {
  const auto* fixture = static_cast<const Fixture*>(arg);
  return name == "a.test" ? fixture->context->get() : nullptr;
}

void drain(int fd) {
  char sink[16384];
  while (::read(fd, sink, sizeof sink) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size > 64 * 1024) return 0;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  // The client's whole flight is in the socket before the server reads, then EOF.
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::write(fds[1], data + sent, size - sent);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fds[1], SHUT_WR);
  {
    auto session = serverd::TlsSession::accept(fixture.context->get(), fds[0], &fixture.keys,
                                               &select_context, &fixture);
    if (session) {
      int state = 0;
      for (int i = 0; i < 64 && state == 0; ++i) {
        state = session->handshake();
        drain(fds[1]);
      }
      if (state == 1) {
        char buffer[4096];
        for (int i = 0; i < 64 && session->read(buffer, sizeof buffer) > 0; ++i) drain(fds[1]);
      }
      session->shutdown();
    }
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
