#pragma once
// One TLS connection over a non-blocking socket (an SSL* bound to the descriptor). Its calls
// behave like the socket calls they replace, so the connection code keeps one shape for both:
// handshake() 1 = done, 0 = try again on the next event, -1 = failed (failure() says why);
// read()/write() return bytes, 0 at the end of the stream, or -1 with errno (EAGAIN when the
// socket would block in either direction, EPROTO for a TLS error, else the socket's errno).
#include <openssl/ssl.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace serverd {

class TicketKeys;

class TlsSession {
 public:
  // Picks the context for a client's SNI name (lower-case); nullptr keeps the current one.
  using SniSelect = SSL_CTX* (*)(const void* arg, std::string_view name);

  // Server side: accepts on `fd` with `ctx` (the address's default server).
  static std::unique_ptr<TlsSession> accept(SSL_CTX* ctx, int fd, const TicketKeys* keys,
                                            SniSelect select, const void* select_arg);
  // Client side: connects on `fd`; `sni` is sent when not empty; `verify_name` (a DNS name or
  // an IP address) is checked against the certificate when not empty.
  static std::unique_ptr<TlsSession> connect(SSL_CTX* ctx, int fd, const std::string& sni,
                                             const std::string& verify_name);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  int handshake();
  bool established() const { return established_; }
  ssize_t read(char* data, std::size_t size);
  ssize_t write(const char* data, std::size_t size);
  // Sends close_notify (best effort, never blocks).
  void shutdown();

  const std::string& failure() const { return failure_; }
  // Client side: offer `session` for resumption (before the handshake); the current session
  // (after it, and after the server's TLS 1.3 tickets arrived) for the next connection.
  void offer_session(SSL_SESSION* session) { SSL_set_session(ssl_, session); }
  std::shared_ptr<SSL_SESSION> session() const {
    SSL_SESSION* s = SSL_get1_session(ssl_);
    return s != nullptr ? std::shared_ptr<SSL_SESSION>(s, SSL_SESSION_free) : nullptr;
  }
  bool reused() const;
  std::string_view protocol() const;
  std::string_view cipher() const;
  std::string_view server_name() const;
  std::string_view alpn() const;
  // RFC 2253 subject of the verified client certificate ("" without one).
  const std::string& client_subject() const { return client_subject_; }

  // For the OpenSSL callbacks.
  const TicketKeys* ticket_keys() const { return keys_; }
  SSL_CTX* select_context(std::string_view name) const;
  static TlsSession* of(const SSL* ssl);

 private:
  explicit TlsSession(SSL* ssl) : ssl_(ssl) {}
  ssize_t io_failed(int result);

  SSL* ssl_;
  const TicketKeys* keys_ = nullptr;
  SniSelect select_ = nullptr;
  const void* select_arg_ = nullptr;
  bool established_ = false;
  bool broken_ = false;  // a fatal error: no close_notify may follow
  bool server_ = true;
  std::string failure_;
  std::string client_subject_;
};

}  // namespace serverd
