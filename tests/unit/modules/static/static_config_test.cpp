// The static module's config keys: parsing, inheritance, errors, dump.
#include <boost/test/unit_test.hpp>
#include <memory>
#include <sstream>
#include <string>

#include "../module_test_support.hpp"
#include "core/config_loader.hpp"
#include "modules/modules.hpp"
#include "modules/static/static_module.hpp"

namespace serverd {
namespace {

using test::configure_from;

const StaticConf& as_static(const ModuleConfPtr& p) {
  BOOST_REQUIRE(p != nullptr);
  const auto* conf = dynamic_cast<const StaticConf*>(p.get());
  BOOST_REQUIRE(conf != nullptr);
  return *conf;
}

std::string dump_text(const StaticModule& m, const ModuleConf& conf) {
  toml::table out;
  m.dump(conf, out);
  std::ostringstream os;
  os << out;
  return os.str();
}

BOOST_AUTO_TEST_SUITE(static_config)

BOOST_AUTO_TEST_CASE(root_resolves_against_the_config_directory) {
  StaticModule m;
  auto r = configure_from(m, ConfigLevel::location, R"(root = "html/")", nullptr);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.error_text());
  const StaticConf& c = as_static(r.conf);
  BOOST_TEST(c.root.value_or("<none>") == "/etc/serverd/html");
  BOOST_TEST(!c.alias.has_value());
  BOOST_TEST(m.handles(c));
  // Defaults.
  BOOST_TEST(c.index == std::vector<std::string>{"index.html"});
  BOOST_TEST(c.default_type == "application/octet-stream");

  auto abs = configure_from(m, ConfigLevel::server, R"(root = "/srv/www/../www2")", nullptr);
  BOOST_TEST(as_static(abs.conf).root.value_or("<none>") == "/srv/www2");
  auto slash = configure_from(m, ConfigLevel::server, R"(root = "/")", nullptr);
  BOOST_TEST(as_static(slash.conf).root.value_or("<none>") == "");
}

BOOST_AUTO_TEST_CASE(alias_keeps_its_trailing_slash) {
  StaticModule m;
  auto r = configure_from(m, ConfigLevel::location, R"(alias = "data/images/")", nullptr);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.error_text());
  const StaticConf& c = as_static(r.conf);
  BOOST_TEST(c.alias.value_or("<none>") == "/etc/serverd/data/images/");
  BOOST_TEST(!c.root.has_value());
  BOOST_TEST(m.handles(c));
  BOOST_TEST(c.alias_pos.line == 1);
}

BOOST_AUTO_TEST_CASE(root_and_alias_together_is_an_error) {
  StaticModule m;
  auto r = configure_from(m, ConfigLevel::location, "root = \"/a\"\nalias = \"/b/\"\n", nullptr);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  const ConfigError& e = r.errors.items()[0];
  BOOST_TEST(e.pos.file == "test.toml");
  BOOST_TEST(e.pos.line == 2);
  BOOST_TEST(e.message.find("`root` and `alias` cannot both be set") != std::string::npos,
             e.message);
}

BOOST_AUTO_TEST_CASE(invalid_values_are_errors) {
  StaticModule m;
  for (const char* text : {R"(root = "")", R"(alias = "")", "root = 5", R"(index = "../x.html")",
                           R"(index = "/abs.html")", R"(index = ["ok.html", ""])", "index = 3",
                           R"(default_type = "")", "default_type = \"a\\nb\""}) {
    BOOST_TEST_CONTEXT(text) {
      auto r = configure_from(m, ConfigLevel::location, text, nullptr);
      BOOST_TEST(r.errors.size() == 1u, r.error_text());
      BOOST_TEST(r.errors.items().at(0).pos.line == 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(index_as_string_or_list) {
  StaticModule m;
  auto one = configure_from(m, ConfigLevel::server, R"(index = "home.html")", nullptr);
  BOOST_TEST(as_static(one.conf).index == std::vector<std::string>{"home.html"});
  auto list = configure_from(m, ConfigLevel::server, R"(index = ["a.html", "sub/b.htm"])", nullptr);
  BOOST_TEST(as_static(list.conf).index == (std::vector<std::string>{"a.html", "sub/b.htm"}));
  BOOST_TEST(!m.handles(as_static(list.conf)));  // an index alone serves nothing
}

BOOST_AUTO_TEST_CASE(inheritance) {
  StaticModule m;
  auto main = configure_from(m, ConfigLevel::main, R"(default_type = "text/plain")", nullptr);
  BOOST_TEST_REQUIRE(main.errors.empty(), main.error_text());
  BOOST_TEST(!m.handles(as_static(main.conf)));

  auto server = configure_from(m, ConfigLevel::server, R"(root = "/srv")", main.conf);
  const StaticConf& s = as_static(server.conf);
  BOOST_TEST(s.default_type == "text/plain");  // from main
  BOOST_TEST(s.root.value_or("") == "/srv");

  // A location that sets nothing gets the very same settings object.
  auto same = configure_from(m, ConfigLevel::location, R"(path = "/x/")", server.conf);
  BOOST_TEST(same.conf == server.conf);

  // Setting one key keeps the others.
  auto loc = configure_from(m, ConfigLevel::location, R"(index = "i.htm")", server.conf);
  const StaticConf& l = as_static(loc.conf);
  BOOST_TEST(l.root.value_or("") == "/srv");
  BOOST_TEST(l.default_type == "text/plain");
  BOOST_TEST(l.index == std::vector<std::string>{"i.htm"});
  BOOST_TEST(s.index == std::vector<std::string>{"index.html"});  // the parent is untouched

  // An alias replaces an inherited root.
  auto alias = configure_from(m, ConfigLevel::location, R"(alias = "/data/")", server.conf);
  BOOST_TEST(!as_static(alias.conf).root.has_value());
  BOOST_TEST(as_static(alias.conf).alias.value_or("") == "/data/");
}

BOOST_AUTO_TEST_CASE(dump_writes_the_effective_keys) {
  StaticModule m;
  auto server = configure_from(m, ConfigLevel::server, R"(root = "/srv/www")", nullptr);
  BOOST_TEST(dump_text(m, *server.conf) ==
             "default_type = 'application/octet-stream'\nindex = [ 'index.html' ]\n"
             "root = '/srv/www'");
  auto alias = configure_from(m, ConfigLevel::location, R"(alias = "/d/")", nullptr);
  BOOST_TEST(dump_text(m, *alias.conf) ==
             "alias = '/d/'\ndefault_type = 'application/octet-stream'\nindex = [ 'index.html' ]");
  // index may not appear in [main], so main-level settings do not write it.
  auto main = configure_from(m, ConfigLevel::main, R"(default_type = "text/plain")", nullptr);
  BOOST_TEST(dump_text(m, *main.conf) == "default_type = 'text/plain'");
}

// Through the real loader: key levels, handler choice, and the regex/alias rule.
const char* const kServer = R"(
[[server]]
listen = ["127.0.0.1:8080"]
root = "html"
)";

BOOST_AUTO_TEST_CASE(loader_makes_static_the_handler) {
  const std::string text = std::string(kServer) + R"(
  [[server.location]]
  path = "/img/"
  alias = "/data/images/"
  [[server.location]]
  path = "/"
)";
  LoadResult r = load_config_text(text, "t.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.to_string());
  const int index = builtin_modules().index_of("static");
  const ServerConfig& server = r.config->servers.at(0);
  BOOST_TEST(server.locations.at(0).handler == index);
  BOOST_TEST(server.locations.at(1).handler == index);  // root inherited from the server
  const auto& img = as_static(server.locations.at(0).modules.at(static_cast<std::size_t>(index)));
  BOOST_TEST(img.alias.value_or("") == "/data/images/");
  const auto& root = as_static(server.locations.at(1).modules.at(static_cast<std::size_t>(index)));
  BOOST_TEST(root.root.value_or("") == "/etc/serverd/html");
}

BOOST_AUTO_TEST_CASE(loader_rejects_alias_in_a_regex_location) {
  const std::string text = std::string(kServer) + R"(
  [[server.location]]
  path = "\\.png$"
  match = "regex"
  alias = "/data/images/"
)";
  LoadResult r = load_config_text(text, "t.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST_REQUIRE(r.errors.size() == 1u, r.errors.to_string());
  const ConfigError& e = r.errors.items()[0];
  BOOST_TEST(e.to_string().starts_with("t.toml:9:"), e.to_string());
  BOOST_TEST(e.message.find("`alias` cannot be used in a regex location") != std::string::npos,
             e.message);
}

BOOST_AUTO_TEST_CASE(loader_rejects_alias_at_server_level) {
  const std::string text = std::string(kServer) + "alias = \"/x/\"\n";
  LoadResult r = load_config_text(text, "t.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST(!r.errors.empty());
  BOOST_TEST(r.errors.to_string().find("alias") != std::string::npos, r.errors.to_string());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
