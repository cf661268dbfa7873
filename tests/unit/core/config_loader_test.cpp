// Loading valid configs: every value lands in the model, defaults are filled in, relative paths
// resolve against the config's directory, module settings are built and inherited.
#include "core/config_loader.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "../tls/test_cert.hpp"
#include "config_test_modules.hpp"

namespace serverd::test {
namespace {

// DESIGN.md's example, with the test modules standing in for proxy/static/return and without
// the access_log keys (their module does not exist yet).
constexpr std::string_view kDesignExample = R"([main]
worker_processes = "auto"
worker_connections = 10240
user = "serverd"
pid_file = "serverd.pid"
daemon = false
shutdown_timeout = "30s"
upgrade_timeout = "30s"

[log]
error_log = "logs/error.log"
level = "info"

[log.rotate]
max_size = "100MiB"
interval = "daily"
keep = 7
compress = true

[[upstream]]
name = "app"
balance = "round_robin"
keepalive = 64
servers = [ { address = "127.0.0.1:9000", weight = 1, max_fails = 3, fail_timeout = "10s" } ]

[[server]]
listen = ["127.0.0.1:8080"]
server_name = ["localhost"]

  [[server.location]]
  path = "/api/"
  proxy_pass = "http://app"

  [[server.location]]
  path = "/"
  root = "html"

  [[server.location]]
  path = "/old"
  return = { status = 301, location = "/new" }
)";

ConfigPtr load_ok(std::string_view source) {
  std::string text(source);
  for (auto at = text.find("CERTDIR"); at != std::string::npos; at = text.find("CERTDIR"))
    text.replace(at, 7, test_cert_dir().string());
  LoadResult r = load_config_text(text, "test.toml", "/etc/serverd", test_modules());
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  BOOST_TEST_REQUIRE(r.config != nullptr);
  return r.config;
}

template <typename Conf>
const Conf& conf_of(const ModuleConfs& confs, int index) {
  BOOST_TEST_REQUIRE(confs.at(static_cast<std::size_t>(index)) != nullptr);
  return static_cast<const Conf&>(*confs[static_cast<std::size_t>(index)]);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_loader)

BOOST_AUTO_TEST_CASE(design_example_loads_every_value) {
  const ConfigPtr c = load_ok(kDesignExample);
  BOOST_TEST(c->file == "test.toml");
  BOOST_TEST(c->base_dir == "/etc/serverd");

  BOOST_TEST(c->main.worker_processes == 0);
  BOOST_TEST(c->main.worker_connections == 10240);
  BOOST_TEST(c->main.user == "serverd");
  BOOST_TEST(c->main.pid_file == "/etc/serverd/serverd.pid");
  BOOST_TEST(!c->main.daemon);
  BOOST_TEST(c->main.shutdown_timeout.count() == 30'000);
  BOOST_TEST(c->main.upgrade_timeout.count() == 30'000);
  BOOST_TEST(c->main.max_draining_generations == 4);
  BOOST_TEST(c->main.pos.line == 1);

  BOOST_TEST(c->log.error_log == "/etc/serverd/logs/error.log");
  BOOST_TEST(c->log.level == "info");
  BOOST_TEST(c->log.rotate.enabled);
  BOOST_TEST(c->log.rotate.max_size.value() == 100u << 20);
  BOOST_TEST((c->log.rotate.interval == LogRotateConfig::Interval::daily));
  BOOST_TEST(c->log.rotate.keep == 7);
  BOOST_TEST(c->log.rotate.compress);

  BOOST_TEST_REQUIRE(c->upstreams.size() == 1u);
  const UpstreamConfig& up = c->upstreams[0];
  BOOST_TEST(up.name == "app");
  BOOST_TEST(up.balance == "round_robin");
  BOOST_TEST(up.hash_key == "");
  BOOST_TEST(up.keepalive == 64);
  BOOST_TEST(up.pos.line == 20);
  BOOST_TEST_REQUIRE(up.servers.size() == 1u);
  BOOST_TEST(up.servers[0].address.to_string() == "127.0.0.1:9000");
  BOOST_TEST(up.servers[0].address_text == "127.0.0.1:9000");
  BOOST_TEST(up.servers[0].weight == 1);
  BOOST_TEST(up.servers[0].max_fails == 3);
  BOOST_TEST(up.servers[0].fail_timeout.count() == 10'000);
  BOOST_TEST(!up.servers[0].backup);

  BOOST_TEST_REQUIRE(c->servers.size() == 1u);
  const ServerConfig& s = c->servers[0];
  BOOST_TEST(s.pos.line == 26);
  BOOST_TEST_REQUIRE(s.listen.size() == 1u);
  BOOST_TEST(s.listen[0].text == "127.0.0.1:8080");
  BOOST_TEST(s.listen[0].address.to_string() == "127.0.0.1:8080");
  BOOST_TEST((s.listen[0].pos.line == 27 && s.listen[0].pos.col == 11));
  BOOST_TEST(s.server_names == std::vector<std::string>{"localhost"});

  BOOST_TEST_REQUIRE(s.locations.size() == 3u);
  BOOST_TEST(s.locations[0].path == "/api/");
  BOOST_TEST((s.locations[0].match == MatchKind::prefix));
  BOOST_TEST(s.locations[0].handler == kProxy);
  BOOST_TEST(conf_of<StringConf>(s.locations[0].modules, kProxy).value == "http://app");
  BOOST_TEST(s.locations[1].path == "/");
  BOOST_TEST(s.locations[1].handler == kFiles);
  BOOST_TEST(conf_of<StringConf>(s.locations[1].modules, kFiles).value == "/etc/serverd/html");
  BOOST_TEST(s.locations[2].path == "/old");
  BOOST_TEST(s.locations[2].handler == kRedirect);
  BOOST_TEST(conf_of<RedirectConf>(s.locations[2].modules, kRedirect).status == 301);
  BOOST_TEST(conf_of<RedirectConf>(s.locations[2].modules, kRedirect).location == "/new");
  BOOST_TEST(s.locations[2].pos.line == 38);
}

BOOST_AUTO_TEST_CASE(defaults_are_filled_in) {
  const ConfigPtr c = load_ok("[[server]]\nlisten = \"8080\"\n");
  BOOST_TEST(c->main.worker_processes == 0);
  BOOST_TEST(c->main.worker_connections == 10240);
  BOOST_TEST(!c->main.worker_rlimit_nofile.has_value());
  BOOST_TEST(!c->main.worker_cpu_affinity);
  BOOST_TEST(c->main.user == "");
  BOOST_TEST(c->main.pid_file == "/etc/serverd/serverd.pid");
  BOOST_TEST(!c->main.daemon);
  BOOST_TEST(c->main.shutdown_timeout.count() == 30'000);
  BOOST_TEST(c->main.upgrade_timeout.count() == 30'000);
  BOOST_TEST(c->log.error_log == "stderr");
  BOOST_TEST(c->log.level == "info");
  BOOST_TEST(!c->log.rotate.enabled);

  const ServerConfig& s = c->servers.at(0);
  BOOST_TEST(s.listen.at(0).address.to_string() == "0.0.0.0:8080");
  BOOST_TEST(!s.listen[0].tls);
  BOOST_TEST(!s.listen[0].reuseport);
  BOOST_TEST(!s.listen[0].default_server);
  BOOST_TEST(s.listen[0].backlog == 511);
  BOOST_TEST(s.server_names.empty());
  BOOST_TEST(s.limits.client_max_body_size == 1024u * 1024);
  BOOST_TEST(s.limits.max_uri_length == 8u * 1024);
  BOOST_TEST(s.limits.max_header_size == 16u * 1024);
  BOOST_TEST(s.limits.client_header_timeout.count() == 60'000);
  BOOST_TEST(s.limits.client_body_timeout.count() == 60'000);
  BOOST_TEST(s.limits.keepalive_timeout.count() == 75'000);
  BOOST_TEST(s.limits.send_timeout.count() == 60'000);
  BOOST_TEST(s.limits.keepalive_requests == 1000u);
  BOOST_TEST(s.locations.empty());

  // Modules get an empty [main] when there is none, so their main-level defaults exist and
  // are inherited (the same object) by every server.
  BOOST_TEST(conf_of<BoolConf>(c->modules, kTokens).value);
  BOOST_TEST(s.modules.at(kTokens) == c->modules.at(kTokens));
  BOOST_TEST(s.modules.at(kFiles) == nullptr);
}

BOOST_AUTO_TEST_CASE(every_core_key_is_read) {
  const ConfigPtr c = load_ok(R"([main]
worker_processes = 4
worker_rlimit_nofile = 65536
worker_cpu_affinity = "auto"
daemon = true
server_tokens = false

[log]
level = "warn"

[log.rotate]
interval = "hourly"

[[upstream]]
name = "cache.v2-b"
balance = "hash"
servers = [
  { address = "localhost:9001", weight = 5, max_fails = 0, fail_timeout = "500ms" },
  { address = "[::1]:9002", backup = true },
]

[[server]]
listen = ["127.0.0.1:8443", { address = "[::]:443", tls = true, reuseport = true, backlog = 4096, default_server = true }]
server_name = ["Example.COM", "*.example.com"]
tls = { certificate = "CERTDIR/a.pem", key = "CERTDIR/a.key" }
client_max_body_size = "10m"
max_uri_length = 2048
max_header_size = "32KiB"
client_header_timeout = "5s"
client_body_timeout = "10s"
keepalive_timeout = "2m"
send_timeout = "1h"
keepalive_requests = 50
root = "/srv/www"

  [[server.location]]
  path = "^/img/.*\\.PNG$"
  match = "regex_icase"
  client_max_body_size = 0

  [[server.location]]
  path = "/exact"
  match = "exact"
  server_tokens = true

  [[server.location]]
  path = "/static/"
  match = "priority_prefix"
)");
  BOOST_TEST(c->main.worker_processes == 4);
  BOOST_TEST(c->main.worker_rlimit_nofile.value() == 65536u);
  BOOST_TEST(c->main.worker_cpu_affinity);
  BOOST_TEST(c->main.daemon);
  BOOST_TEST(!conf_of<BoolConf>(c->modules, kTokens).value);
  BOOST_TEST(c->log.level == "warn");
  BOOST_TEST(c->log.rotate.enabled);
  BOOST_TEST(!c->log.rotate.max_size.has_value());
  BOOST_TEST((c->log.rotate.interval == LogRotateConfig::Interval::hourly));
  BOOST_TEST(c->log.rotate.keep == 7);
  BOOST_TEST(c->log.rotate.compress);

  const UpstreamConfig& up = c->upstreams.at(0);
  BOOST_TEST(up.name == "cache.v2-b");
  BOOST_TEST(up.hash_key == "$request_uri");
  BOOST_TEST(up.keepalive == 0);
  BOOST_TEST_REQUIRE(up.servers.size() == 2u);
  BOOST_TEST(up.servers[0].address.to_string() == "127.0.0.1:9001");
  BOOST_TEST(up.servers[0].address_text == "localhost:9001");
  BOOST_TEST(up.servers[0].weight == 5);
  BOOST_TEST(up.servers[0].max_fails == 0);
  BOOST_TEST(up.servers[0].fail_timeout.count() == 500);
  BOOST_TEST(up.servers[1].address.to_string() == "[::1]:9002");
  BOOST_TEST(up.servers[1].max_fails == 1);
  BOOST_TEST(up.servers[1].fail_timeout.count() == 10'000);
  BOOST_TEST(up.servers[1].backup);

  const ServerConfig& s = c->servers.at(0);
  BOOST_TEST_REQUIRE(s.listen.size() == 2u);
  BOOST_TEST(!s.listen[0].tls);
  BOOST_TEST(s.listen[1].text == "[::]:443");
  BOOST_TEST(s.listen[1].address.to_string() == "[::]:443");
  BOOST_TEST(s.listen[1].tls);
  BOOST_TEST(s.listen[1].reuseport);
  BOOST_TEST(s.listen[1].backlog == 4096);
  BOOST_TEST(s.listen[1].default_server);
  BOOST_TEST((s.server_names == std::vector<std::string>{"example.com", "*.example.com"}));
  BOOST_TEST(s.limits.client_max_body_size == 10u << 20);
  BOOST_TEST(s.limits.max_uri_length == 2048u);
  BOOST_TEST(s.limits.max_header_size == 32u << 10);
  BOOST_TEST(s.limits.client_header_timeout.count() == 5'000);
  BOOST_TEST(s.limits.client_body_timeout.count() == 10'000);
  BOOST_TEST(s.limits.keepalive_timeout.count() == 120'000);
  BOOST_TEST(s.limits.send_timeout.count() == 3'600'000);
  BOOST_TEST(s.limits.keepalive_requests == 50u);

  BOOST_TEST_REQUIRE(s.locations.size() == 3u);
  const LocationConfig& img = s.locations[0];
  BOOST_TEST((img.match == MatchKind::regex_icase));
  BOOST_TEST_REQUIRE(img.regex != nullptr);
  BOOST_TEST(std::regex_search("/img/a/logo.png", *img.regex));
  BOOST_TEST(!std::regex_search("/img/logo.gif", *img.regex));
  BOOST_TEST(img.client_max_body_size == 0u);
  // The server's root makes the files module the handler of locations that set nothing.
  BOOST_TEST(img.handler == kFiles);
  BOOST_TEST(img.modules.at(kFiles) == s.modules.at(kFiles));

  const LocationConfig& exact = s.locations[1];
  BOOST_TEST((exact.match == MatchKind::exact));
  BOOST_TEST(exact.regex == nullptr);
  // Location overrides default to the server's value.
  BOOST_TEST(exact.client_max_body_size == 10u << 20);
  BOOST_TEST(conf_of<BoolConf>(exact.modules, kTokens).value);
  BOOST_TEST(!conf_of<BoolConf>(s.modules, kTokens).value);
  BOOST_TEST((s.locations[2].match == MatchKind::priority_prefix));
}

BOOST_AUTO_TEST_CASE(location_without_any_handler_has_none) {
  const ConfigPtr c = load_ok("[[server]]\nlisten = \"8080\"\n[[server.location]]\npath = \"/\"\n");
  BOOST_TEST(c->servers.at(0).locations.at(0).handler == -1);
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_config_directory) {
  const ConfigPtr c = load_ok(R"([main]
pid_file = "run/../run/serverd.pid"
[log]
error_log = "../log/error.log"
[[server]]
listen = "8080"
root = "./html/"
)");
  BOOST_TEST(c->main.pid_file == "/etc/serverd/run/serverd.pid");
  BOOST_TEST(c->log.error_log == "/etc/log/error.log");
  BOOST_TEST(conf_of<StringConf>(c->servers.at(0).modules, kFiles).value == "/etc/serverd/html/");

  const ConfigPtr abs = load_ok(
      "[main]\npid_file = \"/run/serverd.pid\"\n"
      "[log]\nerror_log = \"/var/log/serverd/error.log\"\n");
  BOOST_TEST(abs->main.pid_file == "/run/serverd.pid");
  BOOST_TEST(abs->log.error_log == "/var/log/serverd/error.log");
}

BOOST_AUTO_TEST_CASE(load_config_file_resolves_against_the_file_directory) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("serverd-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "conf");
  const std::string path = (dir / "conf" / "server.toml").string();
  std::ofstream(path) << "[main]\npid_file = \"serverd.pid\"\n[[server]]\nlisten = \"8080\"\n";
  const LoadResult r = load_config_file(path, test_modules());
  std::filesystem::remove_all(dir);
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  BOOST_TEST(r.config->file == path);
  BOOST_TEST(r.config->main.pid_file == dir / "conf" / "serverd.pid");
}

BOOST_AUTO_TEST_CASE(an_empty_file_is_a_valid_config) {
  // Whether a config without servers is useful is for the process layer to decide.
  const ConfigPtr c = load_ok("");
  BOOST_TEST(c->servers.empty());
  BOOST_TEST(c->main.pid_file == "/etc/serverd/serverd.pid");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
