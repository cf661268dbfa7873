#pragma once
// Self-signed EC certificates for unit tests, made with the OpenSSL API (no CLI, no files
// beyond the two written).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace serverd::test {

// Writes DIR/NAME.pem and DIR/NAME.key (a P-256 key and a certificate for CN=common_name).
inline void write_self_signed(const std::filesystem::path& dir, const std::string& name,
                              const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) throw std::runtime_error("cannot make a test key");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, subject);
  X509_sign(cert, key, EVP_sha256());
  std::filesystem::create_directories(dir);
  FILE* f = std::fopen((dir / (name + ".pem")).c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen((dir / (name + ".key")).c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// A directory with a.pem/a.key and b.pem/b.key, made once per test process.
inline const std::filesystem::path& test_cert_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::temp_directory_path() /
                              ("serverd-unit-certs-" + std::to_string(::getpid()));
    write_self_signed(d, "a", "a.test");
    write_self_signed(d, "b", "b.test");
    return d;
  }();
  return dir;
}

}  // namespace serverd::test
