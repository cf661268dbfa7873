// Server contexts from config: a good pair builds; a mismatched key, an unreadable file, an
// unknown protocol or cipher string fail with the key at fault named.
#include "tls/tls_context.hpp"

#include <boost/test/unit_test.hpp>

#include "test_cert.hpp"

namespace serverd::test {
namespace {

TlsServerConfig pair(const std::string& cert, const std::string& key) {
  TlsServerConfig t;
  t.certificate = test_cert_dir() / (cert + ".pem");
  t.key = test_cert_dir() / (key + ".key");
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_context)

BOOST_AUTO_TEST_CASE(a_matching_pair_builds_with_modern_defaults) {
  TlsBuildError error;
  auto ctx = TlsContext::build_server(pair("a", "a"), "id", &error);
  BOOST_TEST_REQUIRE(ctx != nullptr, error.message);
  BOOST_TEST(SSL_CTX_get_min_proto_version(ctx->get()) == TLS1_2_VERSION);
  BOOST_TEST(SSL_CTX_get_max_proto_version(ctx->get()) == TLS1_3_VERSION);
  // Every TLS 1.2 cipher is forward secret and AEAD.
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    BOOST_TEST(SSL_CIPHER_is_aead(c) == 1, SSL_CIPHER_get_name(c));
    const int kx = SSL_CIPHER_get_kx_nid(c);
    BOOST_TEST((kx == NID_kx_ecdhe || kx == NID_kx_any), SSL_CIPHER_get_name(c));
  }
}

BOOST_AUTO_TEST_CASE(errors_name_the_key_at_fault) {
  TlsBuildError error;
  BOOST_TEST(TlsContext::build_server(pair("a", "b"), "id", &error) == nullptr);
  BOOST_TEST((error.field == TlsField::key));
  BOOST_TEST(error.message.find("does not match certificate") != std::string::npos);

  BOOST_TEST(TlsContext::build_server(pair("missing", "a"), "id", &error) == nullptr);
  BOOST_TEST((error.field == TlsField::certificate));
  BOOST_TEST(error.message.find("No such file or directory") != std::string::npos);

  TlsServerConfig t = pair("a", "a");
  t.protocols = {"TLSv1.1"};
  BOOST_TEST(TlsContext::build_server(t, "id", &error) == nullptr);
  BOOST_TEST((error.field == TlsField::protocols));

  t = pair("a", "a");
  t.ciphers = "NOT-A-CIPHER";
  BOOST_TEST(TlsContext::build_server(t, "id", &error) == nullptr);
  BOOST_TEST((error.field == TlsField::ciphers));

  t = pair("a", "a");
  t.curves = "nonsense";
  BOOST_TEST(TlsContext::build_server(t, "id", &error) == nullptr);
  BOOST_TEST((error.field == TlsField::curves));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
