// server_name forms as loaded: names are lower-cased, regexes keep their case (so "\D" stays
// "\D"), trailing wildcards and ".suffix" are accepted, invalid regexes are errors in place.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config_loader.hpp"
#include "modules/modules.hpp"

namespace {

serverd::LoadResult load(const std::string& names) {
  return serverd::load_config_text(
      "[[server]]\nlisten = \"127.0.0.1:8080\"\nserver_name = " + names + "\n", "test.toml",
      std::filesystem::temp_directory_path(), serverd::builtin_modules());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(server_name_loading)

BOOST_AUTO_TEST_CASE(forms_are_kept_and_regexes_keep_their_case) {
  const auto r = load(R"(["WWW.Example.*", ".Example.org", "*.a.test", "~^(\\D+)\\.Test$"])");
  BOOST_TEST_REQUIRE(r.config != nullptr, r.errors.to_string());
  const std::vector<std::string> expected{"www.example.*", ".example.org", "*.a.test",
                                          "~^(\\D+)\\.Test$"};
  BOOST_TEST(r.config->servers.at(0).server_names == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(invalid_regexes_and_wildcards_are_errors_at_the_name) {
  auto r = load(R"(["ok.test", "~^api(["])");
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST(
      r.errors.to_string().starts_with("test.toml:3:27: invalid server_name regex \"~^api([\": "),
      r.errors.to_string());
  r = load(R"(["www.*.test"])");
  BOOST_TEST(r.errors.to_string().starts_with("test.toml:3:16: invalid server_name"),
             r.errors.to_string());
  r = load(R"(["*"])");
  BOOST_TEST(r.config == nullptr);
  r = load(R"(["*.a.*"])");
  BOOST_TEST(r.config == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
