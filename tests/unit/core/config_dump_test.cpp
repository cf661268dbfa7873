// `serverd -T`: the dump shows every effective value and loads back to the same dump.
#include <boost/test/unit_test.hpp>

#include "../tls/test_cert.hpp"
#include "config_test_modules.hpp"
#include "core/config_loader.hpp"

namespace serverd::test {
namespace {

std::string dump_of(std::string_view text, const std::filesystem::path& base = "/etc/serverd") {
  const LoadResult r = load_config_text(text, "test.toml", base, test_modules());
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  return dump_config(*r.config, test_modules());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_dump)

BOOST_AUTO_TEST_CASE(dump_writes_every_default) {
  BOOST_TEST(dump_of("[[server]]\nlisten = \"8080\"\n[[server.location]]\npath = \"/\"\n"
                     "root = \"html\"\n") ==
             R"(# serverd effective configuration (serverd -T)

[main]
worker_processes = "auto"
worker_connections = 10240
# worker_rlimit_nofile: not set (the inherited limit applies)
worker_cpu_affinity = false
# user: not set (no user switch)
pid_file = "/etc/serverd/serverd.pid"
daemon = false
shutdown_timeout = "30s"
upgrade_timeout = "30s"
max_draining_generations = 4
tls_ticket_key_rotation = "1h"
server_tokens = true

[log]
error_log = "stderr"
level = "info"

[[server]]
listen = [
  { address = "0.0.0.0:8080", tls = false, reuseport = false, backlog = 511, default_server = false },
]
server_name = []
client_max_body_size = "1MiB"
max_uri_length = "8KiB"
max_header_size = "16KiB"
client_header_timeout = "1m"
client_body_timeout = "1m"
keepalive_timeout = "75s"
send_timeout = "1m"
keepalive_requests = 1000

  [[server.location]]
  path = "/"
  match = "prefix"
  client_max_body_size = "1MiB"
  root = "/etc/serverd/html"
)");
}

BOOST_AUTO_TEST_CASE(dump_round_trips) {
  std::string source = R"([main]
worker_processes = 2
worker_rlimit_nofile = 4096
worker_cpu_affinity = true
user = "www-data"
daemon = true
shutdown_timeout = "90s"
server_tokens = false

[log]
error_log = "logs/error.log"
level = "debug"

[log.rotate]
max_size = "100MiB"
interval = "daily"
keep = 3
compress = false

[[upstream]]
name = "app"
balance = "hash"
hash_key = "$remote_addr"
keepalive = 64
servers = [ { address = "127.0.0.1:9000", weight = 2, max_fails = 3, fail_timeout = "10s" },
            { address = "[::1]:9001", backup = true } ]

[[upstream]]
name = "other"
servers = [ { address = "localhost:9100" } ]

[[server]]
listen = ["127.0.0.1:8080", { address = "[::]:443", tls = true, reuseport = true, backlog = 4096 }]
server_name = ["Localhost", "*.example.com"]
tls = { certificate = "CERTDIR/a.pem", key = "CERTDIR/a.key", protocols = ["TLSv1.3"], curves = "X25519", handshake_timeout = "5s" }
client_max_body_size = "1536"
keepalive_timeout = "0s"
root = "html"

  [[server.location]]
  path = "/api/"
  proxy_pass = "http://app"
  client_max_body_size = "10MiB"

  [[server.location]]
  path = "^/say \"hi\"\\.txt$"
  match = "regex_icase"
  server_tokens = true

  [[server.location]]
  path = "/old"
  match = "exact"
  return = { status = 301, location = "/new" }

[[server]]
listen = "127.0.0.1:8080"
server_name = "other.example"
)";
  for (auto at = source.find("CERTDIR"); at != std::string::npos; at = source.find("CERTDIR"))
    source.replace(at, 7, test_cert_dir().string());
  const std::string first = dump_of(source);
  // The dump holds absolute paths only, so where it is loaded from does not matter.
  const std::string second = dump_of(first, "/somewhere/else");
  BOOST_TEST(second == first);

  // Spot checks that the dump says what was configured.
  BOOST_TEST(first.find("worker_processes = 2\n") != std::string::npos);
  BOOST_TEST(first.find("protocols = [\"TLSv1.3\"], ciphers = ") != std::string::npos);
  BOOST_TEST(first.find("curves = \"X25519\"") != std::string::npos);
  BOOST_TEST(first.find("server_tokens = false\n") != std::string::npos);
  BOOST_TEST(first.find("error_log = \"/etc/serverd/logs/error.log\"\n") != std::string::npos);
  BOOST_TEST(first.find("hash_key = \"$remote_addr\"\n") != std::string::npos);
  BOOST_TEST(first.find("  path = \"^/say \\\"hi\\\"\\\\.txt$\"\n") != std::string::npos);
  BOOST_TEST(first.find("  return = { location = \"/new\", status = 301 }\n") != std::string::npos);
  BOOST_TEST(first.find("  { address = \"127.0.0.1:9100\", weight = 1, max_fails = 1, "
                        "fail_timeout = \"10s\", backup = false },\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(inherited_settings_stay_inherited) {
  // The location's root comes from the server: writing it into the location as well would
  // give the location two content handlers when the dump is loaded.
  const std::string text = dump_of(R"([[server]]
listen = "8080"
root = "html"
  [[server.location]]
  path = "/old"
  return = 404
)");
  const LoadResult again = load_config_text(text, "dump.toml", "/", test_modules());
  BOOST_TEST_REQUIRE(again.errors.to_string() == "");
  BOOST_TEST(again.config->servers.at(0).locations.at(0).handler == kRedirect);
  BOOST_TEST(text.find("root = \"/etc/serverd/html\"\n") != std::string::npos);
  BOOST_TEST(text.find("  root =") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
