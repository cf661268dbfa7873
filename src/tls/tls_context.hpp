#pragma once
// OpenSSL contexts built from the config: one SSL_CTX per server with `tls = { ... }` (its
// certificate chain, key, protocols, ciphers, curves, OCSP response, client verification, and
// the shared callbacks for SNI, ALPN, session tickets and stapling), and client contexts for
// upstream TLS. Built while the config loads (in the master), immutable afterwards, inherited by
// the workers with the Config that owns them.
#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace serverd {

// Why a context could not be built: `key` names the config key at fault ("certificate", "key",
// "protocols", ...) so the loader can point at it.
struct TlsBuildError {
  std::string key;
  std::string message;
};

// Settings of a client (upstream) context.
struct TlsClientSettings {
  bool verify = true;
  std::filesystem::path trusted_certificate;  // CA bundle; empty = the system's
  std::filesystem::path certificate;          // client certificate (optional)
  std::filesystem::path key;
  std::vector<std::string> protocols{"TLSv1.2", "TLSv1.3"};
  std::string ciphers;
};

class TlsContext {
 public:
  // `session_id` distinguishes servers for session resumption (the same across reloads).
  static std::shared_ptr<const TlsContext> build_server(const TlsServerConfig& tls,
                                                        std::string_view session_id,
                                                        TlsBuildError* error);
  static std::shared_ptr<const TlsContext> build_client(const TlsClientSettings& settings,
                                                        TlsBuildError* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  const std::string& ocsp_response() const { return ocsp_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::string ocsp_;  // DER
};

// The protocol names `protocols` accepts.
bool valid_tls_protocol(std::string_view name);
// Drains OpenSSL's error queue into one line ("" when empty).
std::string tls_error_text();

inline constexpr std::string_view kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr std::string_view kDefaultTlsCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr std::string_view kDefaultTlsCurves = "X25519:prime256v1:secp384r1";

}  // namespace serverd
