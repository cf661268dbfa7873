#include "tls_support.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>

#include <stdexcept>

#include "process_runner.hpp"

namespace serverd::itest {
namespace {

using namespace std::chrono_literals;

void openssl(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  std::vector<std::string> argv{"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv, 20s, dir);
  if (r.timed_out || r.exit_code != 0)
    throw std::runtime_error("openssl " + args.front() + " failed: " + r.output());
}

std::string errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

void make_ca(const std::filesystem::path& dir, const std::string& name,
             const std::string& common_name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj",
           "/CN=" + common_name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
}

void make_cert(const std::filesystem::path& dir, const std::string& ca, const std::string& name,
               const std::string& common_name, std::vector<std::string> alt_names, bool client) {
  if (alt_names.empty()) alt_names.push_back("DNS:" + common_name);
  std::string san = "subjectAltName=";
  for (std::size_t i = 0; i < alt_names.size(); ++i) san += (i ? "," : "") + alt_names[i];
  TempDir scratch;
  const std::filesystem::path ext =
      scratch.write("ext.cnf", san + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=" +
                                   std::string(client ? "clientAuth" : "serverAuth") + "\n");
  const std::filesystem::path csr = scratch / "req.csr";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", name + ".key", "-out", csr.string(), "-subj",
           "/O=serverd tests/CN=" + common_name},
          dir);
  openssl({"x509", "-req", "-in", csr.string(), "-CA", ca + ".pem", "-CAkey", ca + ".key",
           "-CAcreateserial", "-CAserial", (scratch / "ca.srl").string(), "-out", name + ".pem",
           "-days", "2", "-extfile", ext.string()},
          dir);
}

std::string tls_line(const std::string& name, const std::string& extra) {
  return "tls = { certificate = \"" + name + ".pem\", key = \"" + name + ".key\"" +
         (extra.empty() ? "" : ", " + extra) + " }\n";
}

HttpConnection tls_connect(int port, const TlsOptions& o, TlsInfo* info) {
  HttpConnection conn = HttpConnection::connect(port);
  TlsInfo local;
  TlsInfo& out = info != nullptr ? *info : local;
  out = TlsInfo{};
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) throw std::runtime_error("SSL_CTX_new: " + errors());
  if (o.min_version != 0) SSL_CTX_set_min_proto_version(ctx, o.min_version);
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (o.min_version != 0 && o.min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str());
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (!o.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  SSL* ssl = SSL_new(ctx);
  SSL_CTX_free(ctx);  // the SSL keeps its own reference
  SSL_set_fd(ssl, conn.fd());
  if (!o.sni.empty())
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(o.sni.c_str()));
  if (!o.alpn.empty()) {
    std::string wire;
    for (const std::string& p : o.alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  if (o.session && o.session_in_memory) {
    SSL_set_session(ssl, o.session.get());
  } else if (o.session) {
    // A fresh copy each time, as `openssl s_client -sess_in` reads it from a file: OpenSSL
    // treats an in-memory TLS 1.3 session as single-use once it has been resumed.
    const int len = i2d_SSL_SESSION(o.session.get(), nullptr);
    std::string der(static_cast<std::size_t>(len > 0 ? len : 0), '\0');
    auto* w = reinterpret_cast<unsigned char*>(der.data());
    i2d_SSL_SESSION(o.session.get(), &w);
    const auto* r = reinterpret_cast<const unsigned char*>(der.data());
    SSL_SESSION* copy = d2i_SSL_SESSION(nullptr, &r, len);
    if (copy != nullptr) {
      SSL_set_session(ssl, copy);
      SSL_SESSION_free(copy);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  for (;;) {
    const int r = SSL_connect(ssl);
    if (r == 1) break;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{conn.fd(), static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) != 1) {
        out.error = "handshake timed out";
        SSL_free(ssl);
        return conn;
      }
      continue;
    }
    out.error = errors();
    if (out.error.empty()) out.error = "handshake failed (SSL error " + std::to_string(e) + ")";
    SSL_free(ssl);
    return conn;
  }
  out.ok = true;
  out.version = SSL_get_version(ssl);
  out.cipher = SSL_get_cipher_name(ssl);
  out.reused = SSL_session_reused(ssl) == 1;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) out.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
    out.peer_common_name = cn;
  }
  conn.attach_tls(ssl);
  return conn;
}

SessionPtr tls_session(const HttpConnection& c) {
  if (c.ssl() == nullptr) return nullptr;
  SSL_SESSION* s = SSL_get1_session(c.ssl());
  if (s == nullptr) return nullptr;
  return SessionPtr(s, SSL_SESSION_free);
}

Response tls_get(int port, const std::string& target, const TlsOptions& options, TlsInfo* info,
                 const std::string& host) {
  TlsInfo local;
  TlsInfo& out = info != nullptr ? *info : local;
  HttpConnection c = tls_connect(port, options, &out);
  if (!out.ok) throw std::runtime_error("TLS handshake failed: " + out.error);
  c.send(get_request(target, host));
  return c.expect_response();
}

}  // namespace serverd::itest
