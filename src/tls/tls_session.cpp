#include "tls/tls_session.hpp"

// OpenSSL's SSL_CTX_set_tlsext_* / SSL_set_tlsext_* macros expand to C casts.
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

#include "tls/tls_context.hpp"

namespace serverd {

TlsSession* TlsSession::of(const SSL* ssl) {
  return static_cast<TlsSession*>(SSL_get_app_data(ssl));
}

std::unique_ptr<TlsSession> TlsSession::accept(SSL_CTX* ctx, int fd, const TicketKeys* keys,
                                               SniSelect select, const void* select_arg) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  std::unique_ptr<TlsSession> s(new TlsSession(ssl));
  if (SSL_set_fd(ssl, fd) != 1) return nullptr;
  SSL_set_app_data(ssl, s.get());
  SSL_set_accept_state(ssl);
  s->keys_ = keys;
  s->select_ = select;
  s->select_arg_ = select_arg;
  return s;
}

std::unique_ptr<TlsSession> TlsSession::connect(SSL_CTX* ctx, int fd, const std::string& sni,
                                                const std::string& verify_name) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  std::unique_ptr<TlsSession> s(new TlsSession(ssl));
  s->server_ = false;
  if (SSL_set_fd(ssl, fd) != 1) return nullptr;
  SSL_set_app_data(ssl, s.get());
  SSL_set_connect_state(ssl);
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl, sni.c_str()) != 1) return nullptr;
  if (!verify_name.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    // An address is matched against the certificate's IP entries, a name against its DNS ones.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str()) != 1) {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl, verify_name.c_str()) != 1) return nullptr;
    }
  }
  return s;
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

int TlsSession::handshake() {
  if (established_) return 1;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    if (server_) {
      if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
        BIO* bio = BIO_new(BIO_s_mem());
        if (bio != nullptr &&
            X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
          char* data = nullptr;
          const long len = BIO_get_mem_data(bio, &data);
          if (len > 0) client_subject_.assign(data, static_cast<std::size_t>(len));
        }
        BIO_free(bio);
      }
    }
    return 1;
  }
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  broken_ = true;
  if (e == SSL_ERROR_SYSCALL) {
    std::string queued = tls_error_text();
    if (!queued.empty())
      failure_ = queued;
    else
      failure_ = errno != 0 ? std::strerror(errno) : "the peer closed the connection";
  } else if (e == SSL_ERROR_ZERO_RETURN) {
    failure_ = "the peer closed the connection";
  } else {
    failure_ = tls_error_text();
    if (failure_.empty()) failure_ = "TLS error " + std::to_string(e);
  }
  if (!server_ && SSL_get_verify_result(ssl_) != X509_V_OK)
    failure_ += std::string(" (certificate verify failed: ") +
                X509_verify_cert_error_string(SSL_get_verify_result(ssl_)) + ")";
  return -1;
}

ssize_t TlsSession::io_failed(int result) {
  const int e = SSL_get_error(ssl_, result);
  switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      broken_ = true;
      if (errno == 0 || errno == EAGAIN) errno = ECONNRESET;
      return -1;
    default:
      broken_ = true;
      failure_ = tls_error_text();
      errno = EPROTO;
      return -1;
  }
}

ssize_t TlsSession::read(char* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  const int r = SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (r > 0) return r;
  return io_failed(r);
}

ssize_t TlsSession::write(const char* data, std::size_t size) {
  if (size == 0) return 0;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (r > 0) return r;
  const ssize_t n = io_failed(r);
  if (n == 0) {
    errno = EPIPE;  // the peer said close_notify: nothing more can be sent
    return -1;
  }
  return n;
}

void TlsSession::shutdown() {
  if (broken_ || !established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool TlsSession::reused() const {
  return SSL_session_reused(ssl_) == 1;
}

std::string_view TlsSession::protocol() const {
  return SSL_get_version(ssl_);
}

std::string_view TlsSession::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

std::string_view TlsSession::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

std::string_view TlsSession::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p != nullptr ? std::string_view(reinterpret_cast<const char*>(p), len) : "";
}

SSL_CTX* TlsSession::select_context(std::string_view name) const {
  if (select_ == nullptr) return nullptr;
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return select_(select_arg_, lower);
}

}  // namespace serverd
