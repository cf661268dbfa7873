// The loader with the real module list: the content-handler rule and the dump round trip hold
// for the modules serverd ships, not only for the test modules.
#include <boost/test/unit_test.hpp>

#include "core/config_loader.hpp"
#include "modules/modules.hpp"

namespace serverd {

BOOST_AUTO_TEST_SUITE(config_builtin_modules)

BOOST_AUTO_TEST_CASE(two_content_handlers_names_both_modules) {
  const LoadResult r = load_config_text(R"([[server]]
listen = "127.0.0.1:8080"
[[server.location]]
path = "/x"
return = { status = 301, location = "/new" }
root = "html"
)",
                                        "test.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST(r.errors.to_string() ==
             "test.toml:6:1: location \"/x\" has two content handlers: \"return\" (module return) "
             "and \"root\" (module static)");
}

BOOST_AUTO_TEST_CASE(unknown_upstream_in_proxy_pass_suggests_a_close_name) {
  const std::string config = R"([[upstream]]
name = "app"
servers = [{ address = "127.0.0.1:9000" }]
[[server]]
listen = "127.0.0.1:8080"
[[server.location]]
path = "/"
proxy_pass = "http://NAME"
)";
  auto load = [&](const std::string& name) {
    std::string text = config;
    text.replace(text.find("NAME"), 4, name);
    return load_config_text(text, "test.toml", "/etc/serverd", builtin_modules())
        .errors.to_string();
  };
  BOOST_TEST(load("ap") ==
             "test.toml:8:14: proxy_pass \"http://ap\": no [[upstream]] of that name, and not a "
             "host:port address; did you mean \"http://app\"?");
  // Nothing close: no hint.
  BOOST_TEST(load("backend") ==
             "test.toml:8:14: proxy_pass \"http://backend\": no [[upstream]] of that name, and "
             "not a host:port address");
  BOOST_TEST(load("app") == "");
}

BOOST_AUTO_TEST_CASE(dump_round_trips_with_real_modules) {
  const ModuleList& modules = builtin_modules();
  const LoadResult first = load_config_text(R"([main]
default_type = "text/plain"
[[server]]
listen = "127.0.0.1:8080"
root = "html"
index = ["index.html", "index.htm"]
  [[server.location]]
  path = "/"
  [[server.location]]
  path = "/old"
  return = { status = 301, location = "/new" }
  [[server.location]]
  path = "/img/"
  alias = "/srv/images/"
)",
                                            "test.toml", "/etc/serverd", modules);
  BOOST_TEST_REQUIRE(first.errors.to_string() == "");
  const std::string dump = dump_config(*first.config, modules);
  const LoadResult second = load_config_text(dump, "dump.toml", "/", modules);
  BOOST_TEST_REQUIRE(second.errors.to_string() == "", "dump:\n" << dump);
  BOOST_TEST(dump_config(*second.config, modules) == dump);
  const auto& locations = second.config->servers.at(0).locations;
  BOOST_TEST_REQUIRE(locations.size() == 3u);
  const int ret = modules.index_of("return"), files = modules.index_of("static");
  BOOST_TEST(locations[0].handler == files);
  BOOST_TEST(locations[1].handler == ret);
  BOOST_TEST(locations[2].handler == files);
}

// Regression: `index`/`default_type` only tune the static module; they must not count as a
// second content handler next to `return` (found while testing the static module).
BOOST_AUTO_TEST_CASE(tuning_keys_do_not_claim_the_handler) {
  const auto& modules = serverd::builtin_modules();
  auto r = serverd::load_config_text(R"(
[[server]]
listen = "127.0.0.1:8080"
root = "html"
  [[server.location]]
  path = "/x"
  default_type = "text/plain"
  index = ["a.html"]
  return = 404
)",
                                     "test.toml", "/srv", modules);
  BOOST_TEST(r.errors.to_string() == "");
  BOOST_REQUIRE(r.config);
  const auto& loc = r.config->servers[0].locations[0];
  BOOST_TEST(loc.handler == modules.index_of("return"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
