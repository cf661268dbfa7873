#pragma once
// OpenSSL contexts built from the config: one SSL_CTX per server with `tls = { ... }` (its
// certificate chain, key, protocols, ciphers, curves, OCSP response, client verification, and
// the shared callbacks for SNI, ALPN, session tickets and stapling), and client contexts for
// upstream TLS. Built right after the config loads (in the master), immutable afterwards,
// inherited by the workers with the Config that owns them.
#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/config_loader.hpp"

namespace serverd {

// Which setting a context could not be built from. The caller maps it to its own config key
// (a server's "certificate", or the matching key of a module) to point at it.
enum class TlsField {
  context,  // OpenSSL itself (no setting at fault)
  protocols,
  ciphers,
  ciphersuites,
  curves,
  certificate,
  key,
  ocsp_response,
  client_certificate,
  verify_client,
  trusted_certificate,
};

struct TlsBuildError {
  TlsField field = TlsField::context;
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

// Builds the SSL_CTX of every server with `tls = { ... }` in a freshly loaded config, recording
// failures at the position of the key at fault. Run wherever a config is loaded (`-t`, start,
// reload) before it is shared; a no-op when `result` already has errors.
void build_tls_contexts(LoadResult& result);

// The protocol names `protocols` accepts.
bool valid_tls_protocol(std::string_view name);
// Drains OpenSSL's error queue into one line ("" when empty).
std::string tls_error_text();

}  // namespace serverd
