#include "tls/tls_context.hpp"

// OpenSSL's SSL_CTX_set_tlsext_* / SSL_set_tlsext_* macros expand to C casts.
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"
#include "tls/ticket_keys.hpp"
#include "tls/tls_session.hpp"

namespace serverd {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return '"' + p.string() + '"';
}

// The whole file, or nullopt with `why` set (errno's text).
std::optional<std::string> read_whole(const std::filesystem::path& path, std::string* why) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *why = std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EINTR) continue;
      *why = std::strerror(errno);
      return std::nullopt;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

int protocol_version(std::string_view name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

bool set_protocols(SSL_CTX* ctx, const std::vector<std::string>& protocols, TlsBuildError* err) {
  int low = 0;
  int high = 0;
  for (const std::string& p : protocols) {
    const int v = protocol_version(p);
    if (v == 0) {
      *err = {TlsField::protocols,
              "unknown TLS protocol \"" + p + "\" (expected \"TLSv1.2\" or \"TLSv1.3\")"};
      return false;
    }
    if (low == 0 || v < low) low = v;
    if (v > high) high = v;
  }
  if (low == 0) {
    *err = {TlsField::protocols, "\"protocols\" must name at least one protocol"};
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx, low);
  SSL_CTX_set_max_proto_version(ctx, high);
  return true;
}

// Passphrase-protected keys are refused rather than prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN (as HTTP/1.1)
}

int servername(SSL* ssl, int*, void*) {
  TlsSession* session = TlsSession::of(ssl);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (session == nullptr || name == nullptr) return SSL_TLSEXT_ERR_OK;
  SSL_CTX* ctx = session->select_context(name);
  if (ctx == nullptr || ctx == SSL_get_SSL_CTX(ssl)) return SSL_TLSEXT_ERR_OK;
  if (SSL_set_SSL_CTX(ssl, ctx) == nullptr) return SSL_TLSEXT_ERR_ALERT_FATAL;
  // SSL_set_SSL_CTX switches the certificate; the client verification settings follow by hand.
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  return SSL_TLSEXT_ERR_OK;
}

int ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
               EVP_MAC_CTX* mac, int encrypt) {
  const TlsSession* session = TlsSession::of(ssl);
  const TicketKeys* keys = session != nullptr ? session->ticket_keys() : nullptr;
  if (keys == nullptr || keys->empty()) return 0;
  const TicketKey* key = nullptr;
  if (encrypt != 0) {
    key = keys->current();
    std::memcpy(name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes_key.data(), iv) != 1)
      return -1;
  } else {
    key = keys->find(name);
    if (key == nullptr) return 0;  // unknown or expired: a full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes_key.data(), iv) != 1)
      return -1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(
                             OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac_key.data()),
                             key->hmac_key.size()),
                         OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  // A ticket under an older key still resumes, and is replaced by one under the current key.
  // TLS 1.3 always gets a fresh ticket on resumption (as nginx does): an OpenSSL client that
  // keeps its SSL object across connections (SSL_clear, as wrk and many pools do) cannot
  // resume a second time from a session that received no new ticket, so without this every
  // other reconnection was a full handshake. Single-use tickets are also what RFC 8446 advises.
  if (encrypt == 0 && (key != keys->current() || SSL_version(ssl) == TLS1_3_VERSION)) return 2;
  return 1;
}

int staple(SSL* ssl, void* arg) {
  const auto* context = static_cast<const TlsContext*>(arg);
  // After an SNI switch this is the new context's callback, with its own response.
  const std::string& der = context->ocsp_response();
  if (der.empty()) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, der.data(), der.size());
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der.size()));
  return SSL_TLSEXT_ERR_OK;
}

bool load_key_pair(SSL_CTX* ctx, const std::filesystem::path& cert_path,
                   const std::filesystem::path& key_path, TlsBuildError* err) {
  std::string why;
  if (!read_whole(cert_path, &why)) {
    *err = {TlsField::certificate, "cannot read certificate " + quoted(cert_path) + ": " + why};
    return false;
  }
  auto key_text = read_whole(key_path, &why);
  if (!key_text) {
    *err = {TlsField::key, "cannot read key " + quoted(key_path) + ": " + why};
    return false;
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    *err = {TlsField::certificate,
            "invalid certificate " + quoted(cert_path) + ": " + tls_error_text()};
    return false;
  }
  BIO* bio = BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size()));
  EVP_PKEY* pkey =
      bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
  BIO_free(bio);
  if (pkey == nullptr) {
    *err = {TlsField::key, "invalid key " + quoted(key_path) + ": " + tls_error_text()};
    return false;
  }
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr || X509_check_private_key(leaf, pkey) != 1) {
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    *err = {TlsField::key,
            "key " + quoted(key_path) + " does not match certificate " + quoted(cert_path)};
    return false;
  }
  const int ok = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  if (ok != 1) {
    *err = {TlsField::key, "cannot use key " + quoted(key_path) + ": " + tls_error_text()};
    return false;
  }
  return true;
}

void common_options(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  // One recv() per batch of records instead of two per record (header, then body). Safe with
  // edge-triggered epoll: a connection reads until SSL_read wants more from the socket.
  SSL_CTX_set_read_ahead(ctx, 1);
}

bool set_ciphers(SSL_CTX* ctx, const std::string& ciphers, const std::string& suites,
                 const std::string& curves, TlsBuildError* err) {
  const std::string c = ciphers.empty() ? std::string(kDefaultTlsCiphers) : ciphers;
  if (SSL_CTX_set_cipher_list(ctx, c.c_str()) != 1) {
    *err = {TlsField::ciphers, "invalid \"ciphers\" \"" + c + "\": " + tls_error_text()};
    return false;
  }
  const std::string s = suites.empty() ? std::string(kDefaultTlsCiphersuites) : suites;
  if (SSL_CTX_set_ciphersuites(ctx, s.c_str()) != 1) {
    *err = {TlsField::ciphersuites, "invalid \"ciphersuites\" \"" + s + "\": " + tls_error_text()};
    return false;
  }
  const std::string g = curves.empty() ? std::string(kDefaultTlsCurves) : curves;
  if (SSL_CTX_set1_groups_list(ctx, g.c_str()) != 1) {
    *err = {TlsField::curves, "invalid \"curves\" \"" + g + "\": " + tls_error_text()};
    return false;
  }
  return true;
}

}  // namespace

bool valid_tls_protocol(std::string_view name) {
  return protocol_version(name) != 0;
}

std::string tls_error_text() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : buf;
  }
  return out;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<const TlsContext> TlsContext::build_server(const TlsServerConfig& tls,
                                                           std::string_view session_id,
                                                           TlsBuildError* err) {
  std::shared_ptr<TlsContext> c(new TlsContext());
  ERR_clear_error();
  c->ctx_ = SSL_CTX_new(TLS_server_method());
  if (c->ctx_ == nullptr) {
    *err = {TlsField::context, "cannot create a TLS context: " + tls_error_text()};
    return nullptr;
  }
  SSL_CTX* ctx = c->ctx_;
  common_options(ctx);
  if (!set_protocols(ctx, tls.protocols, err)) return nullptr;
  if (!set_ciphers(ctx, tls.ciphers, tls.ciphersuites, tls.curves, err)) return nullptr;
  if (!load_key_pair(ctx, tls.certificate, tls.key, err)) return nullptr;

  // Resumption is stateless (tickets under keys every worker shares): no per-process cache
  // that another worker could not see.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  unsigned char sid[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(session_id.data()), session_id.size(), sid);
  SSL_CTX_set_session_id_context(ctx, sid, SSL_MAX_SID_CTX_LENGTH);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key);
  SSL_CTX_set_tlsext_servername_callback(ctx, servername);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, nullptr);

  if (!tls.ocsp_response.empty()) {
    std::string why;
    auto der = read_whole(tls.ocsp_response, &why);
    if (!der) {
      *err = {TlsField::ocsp_response,
              "cannot read OCSP response " + quoted(tls.ocsp_response) + ": " + why};
      return nullptr;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    OCSP_RESPONSE* resp = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der->size()));
    if (resp == nullptr) {
      ERR_clear_error();
      *err = {TlsField::ocsp_response, "invalid OCSP response " + quoted(tls.ocsp_response) +
                                           " (expected DER, as written by openssl ocsp -respout)"};
      return nullptr;
    }
    OCSP_RESPONSE_free(resp);
    c->ocsp_ = std::move(*der);
    SSL_CTX_set_tlsext_status_cb(ctx, staple);
    SSL_CTX_set_tlsext_status_arg(ctx, c.get());
  }

  if (tls.verify_client != TlsServerConfig::VerifyClient::off) {
    if (tls.client_certificate.empty()) {
      *err = {TlsField::verify_client,
              "\"verify_client\" needs \"client_certificate\" (a CA bundle)"};
      return nullptr;
    }
    std::string why;
    if (!read_whole(tls.client_certificate, &why)) {
      *err = {TlsField::client_certificate,
              "cannot read client_certificate " + quoted(tls.client_certificate) + ": " + why};
      return nullptr;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_certificate.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx, tls.client_certificate.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      *err = {
          TlsField::client_certificate,
          "invalid client_certificate " + quoted(tls.client_certificate) + ": " + tls_error_text()};
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (tls.verify_client == TlsServerConfig::VerifyClient::on)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_verify_depth(ctx, tls.verify_depth);
  }
  ERR_clear_error();
  return c;
}

std::shared_ptr<const TlsContext> TlsContext::build_client(const TlsClientSettings& s,
                                                           TlsBuildError* err) {
  std::shared_ptr<TlsContext> c(new TlsContext());
  ERR_clear_error();
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) {
    *err = {TlsField::context, "cannot create a TLS context: " + tls_error_text()};
    return nullptr;
  }
  SSL_CTX* ctx = c->ctx_;
  common_options(ctx);
  if (!set_protocols(ctx, s.protocols, err)) return nullptr;
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    *err = {TlsField::ciphers, "invalid ciphers \"" + s.ciphers + "\": " + tls_error_text()};
    return nullptr;
  }
  if (s.verify) {
    if (!s.trusted_certificate.empty()) {
      std::string why;
      if (!read_whole(s.trusted_certificate, &why)) {
        *err = {TlsField::trusted_certificate,
                "cannot read " + quoted(s.trusted_certificate) + ": " + why};
        return nullptr;
      }
      if (SSL_CTX_load_verify_locations(ctx, s.trusted_certificate.c_str(), nullptr) != 1) {
        *err = {TlsField::trusted_certificate,
                "invalid CA bundle " + quoted(s.trusted_certificate) + ": " + tls_error_text()};
        return nullptr;
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      *err = {TlsField::trusted_certificate,
              "cannot load the system CA certificates: " + tls_error_text()};
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!s.certificate.empty() && !load_key_pair(ctx, s.certificate, s.key, err)) return nullptr;
  ERR_clear_error();
  return c;
}

}  // namespace serverd

namespace serverd {
namespace {

// A server's tls table key for each field.
std::string_view server_key(TlsField field) {
  switch (field) {
    case TlsField::protocols:
      return "protocols";
    case TlsField::ciphers:
      return "ciphers";
    case TlsField::ciphersuites:
      return "ciphersuites";
    case TlsField::curves:
      return "curves";
    case TlsField::key:
      return "key";
    case TlsField::ocsp_response:
      return "ocsp_response";
    case TlsField::client_certificate:
      return "client_certificate";
    case TlsField::verify_client:
      return "verify_client";
    case TlsField::context:
    case TlsField::certificate:
    case TlsField::trusted_certificate:
      break;
  }
  return "certificate";
}

}  // namespace

void build_tls_contexts(LoadResult& result) {
  if (!result.config || !result.errors.empty()) return;
  for (ServerConfig& server : result.config->servers) {
    if (!server.tls) continue;
    TlsServerConfig& tls = *server.tls;
    // One session context for every server: a handshake is resumed before SNI has switched the
    // context, so per-server contexts would only make tickets fail after an SNI switch. Which
    // server may use a resumed session is checked per request (client certificates).
    TlsBuildError error;
    tls.context = TlsContext::build_server(tls, "serverd", &error);
    if (tls.context) continue;
    SourcePos at = tls.pos;
    for (const auto& [key, pos] : tls.key_pos)
      if (key == server_key(error.field)) at = pos;
    result.errors.add(at, error.message);
  }
  if (!result.errors.empty()) result.config.reset();
}

}  // namespace serverd
