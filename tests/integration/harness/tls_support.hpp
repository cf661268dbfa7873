#pragma once
// TLS for the integration tests: certificates made with the openssl CLI (a test CA and leaf
// certificates it signs, EC P-256 so that it is quick), and a client handshake with the OpenSSL
// API on top of HttpConnection (SNI, ALPN, protocol bounds, session resumption, client
// certificates, verification against a CA).
#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "temp_dir.hpp"

namespace serverd::itest {

// DIR/NAME.pem + DIR/NAME.key: a self-signed CA.
void make_ca(const std::filesystem::path& dir, const std::string& name,
             const std::string& common_name = "serverd test CA");
// DIR/NAME.pem + DIR/NAME.key, signed by DIR/CA.pem; `alt_names` like "DNS:localhost",
// "IP:127.0.0.1" (none: DNS:<common_name>). `client` marks it for client authentication.
void make_cert(const std::filesystem::path& dir, const std::string& ca, const std::string& name,
               const std::string& common_name, std::vector<std::string> alt_names = {},
               bool client = false);
// The config lines `tls = { certificate = "NAME.pem", key = "NAME.key" }` (+ extra items).
std::string tls_line(const std::string& name, const std::string& extra = "");

using SessionPtr = std::shared_ptr<SSL_SESSION>;

struct TlsOptions {
  std::string sni;                            // empty: none
  std::vector<std::string> alpn{"http/1.1"};  // empty: no ALPN extension
  int min_version = 0;                        // TLS1_2_VERSION, ...; 0 = library default
  int max_version = 0;
  SessionPtr session;  // offered for resumption
  // Offer `session` itself rather than a serialised copy, as a client that keeps its sessions
  // in memory does (OpenSSL then treats a TLS 1.3 session as used up once it has resumed).
  bool session_in_memory = false;
  std::filesystem::path ca_file;              // verify the server against it (empty: no check)
  std::filesystem::path cert_file, key_file;  // client certificate
  std::string ciphers;                        // TLS 1.2 cipher list; empty: default
  std::chrono::milliseconds timeout{3000};
};

struct TlsInfo {
  bool ok = false;
  std::string error;
  std::string version;  // "TLSv1.3"
  std::string alpn;
  std::string cipher;
  std::string peer_common_name;
  bool reused = false;
};

// TCP connect to 127.0.0.1:port and a TLS handshake (bounded). On handshake failure the info
// says why (ok = false) and the returned connection is plain TCP.
HttpConnection tls_connect(int port, const TlsOptions& options, TlsInfo* info);
// The session to resume later (after a response was read, so TLS 1.3 tickets have arrived).
SessionPtr tls_session(const HttpConnection& c);

// One GET over a new TLS connection; throws unless the handshake and the response are fine.
Response tls_get(int port, const std::string& target, const TlsOptions& options = {},
                 TlsInfo* info = nullptr, const std::string& host = "localhost");

}  // namespace serverd::itest
