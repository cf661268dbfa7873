// The TLS step after loading: the loader only reads `tls = { ... }`; build_tls_contexts turns
// it into SSL_CTXs and reports a bad certificate or key at the key's FILE:LINE:COL.
#include <boost/test/unit_test.hpp>

#include "core/config_loader.hpp"
#include "modules/modules.hpp"
#include "test_cert.hpp"
#include "tls/tls_context.hpp"

namespace serverd::test {
namespace {

LoadResult load_with_tls(const std::string& cert, const std::string& key) {
  const std::string text =
      "[[server]]\nlisten = { address = \"127.0.0.1:8443\", tls = true }\n"
      "tls = { certificate = \"" +
      cert + ".pem\", key = \"" + key + ".key\" }\n";
  return load_config_text(text, "t.toml", test_cert_dir(), builtin_modules());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_build)

BOOST_AUTO_TEST_CASE(contexts_are_built_after_loading) {
  LoadResult r = load_with_tls("a", "a");
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.to_string());
  BOOST_TEST_REQUIRE(r.config->servers.at(0).tls.has_value());
  BOOST_TEST(r.config->servers[0].tls->context == nullptr);  // the loader only reads
  build_tls_contexts(r);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.to_string());
  BOOST_TEST_REQUIRE(r.config != nullptr);
  BOOST_TEST(r.config->servers[0].tls->context != nullptr);
}

BOOST_AUTO_TEST_CASE(a_mismatched_key_fails_at_its_position) {
  LoadResult r = load_with_tls("a", "b");
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.to_string());
  build_tls_contexts(r);
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST_REQUIRE(r.errors.size() == 1U);
  const ConfigError& e = r.errors.items()[0];
  BOOST_TEST(e.pos.file == "t.toml");
  BOOST_TEST(e.pos.line == 3);
  BOOST_TEST(e.pos.col == 38);  // the value of `key`
  BOOST_TEST(e.message.find("does not match certificate") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(a_missing_certificate_fails_at_its_position) {
  LoadResult r = load_with_tls("missing", "a");
  build_tls_contexts(r);
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST(r.errors.to_string().starts_with("t.toml:3:23: cannot read certificate"),
             r.errors.to_string());
}

BOOST_AUTO_TEST_CASE(a_config_with_errors_is_left_alone) {
  LoadResult r = load_config_text("[main]\nfoo = 1\n", "t.toml", "/", builtin_modules());
  const std::size_t before = r.errors.size();
  build_tls_contexts(r);
  BOOST_TEST(r.errors.size() == before);
  BOOST_TEST(r.config == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
