// Every kind of config mistake comes out as the exact "FILE:LINE:COL: message" a user sees.
#include <boost/test/unit_test.hpp>

#include "../tls/test_cert.hpp"
#include "config_test_modules.hpp"
#include "core/config_loader.hpp"

namespace serverd::test {

std::string with_certs(std::string text) {
  for (auto at = text.find("CERTDIR"); at != std::string::npos; at = text.find("CERTDIR"))
    text.replace(at, 7, test_cert_dir().string());
  return text;
}

BOOST_AUTO_TEST_SUITE(config_errors)

BOOST_AUTO_TEST_CASE(syntax_error_stops_at_the_first) {
  const LoadResult r = load_config_text("[main]\ndaemon = yes\nfoo = 1\n", "test.toml",
                                        "/etc/serverd", test_modules());
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST(r.errors.size() == 1u);
  BOOST_TEST(r.errors.to_string() ==
             "test.toml:2:10: Error while parsing value: could not determine value type");
}

BOOST_AUTO_TEST_CASE(unknown_key_with_hint) {
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\nsever_name = \"a\"\n") ==
             "test.toml:3:1: unknown key \"sever_name\" in [[server]]; did you mean "
             "\"server_name\"?");
  BOOST_TEST(load_errors("[sever]\n") ==
             "test.toml:1:2: unknown key \"sever\" at the top level; did you mean \"server\"?");
  // Module keys are candidates too.
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\n[[server.location]]\npath = \"/\"\n"
                         "proxy_pas = \"http://app\"\n") ==
             "test.toml:5:1: unknown key \"proxy_pas\" in [[server.location]]; did you mean "
             "\"proxy_pass\"?");
}

BOOST_AUTO_TEST_CASE(unknown_key_without_hint) {
  BOOST_TEST(load_errors("[main]\nfrobnicate = 1\n") ==
             "test.toml:2:1: unknown key \"frobnicate\" in [main]");
}

BOOST_AUTO_TEST_CASE(key_of_another_level_says_where_it_belongs) {
  BOOST_TEST(load_errors("[main]\nroot = \"html\"\n") ==
             "test.toml:2:1: \"root\" is not allowed in [main] (only in [[server]] and "
             "[[server.location]])");
  BOOST_TEST(load_errors("worker_processes = 4\n") ==
             "test.toml:1:1: \"worker_processes\" is not allowed at the top level (only in "
             "[main])");
}

BOOST_AUTO_TEST_CASE(wrong_type) {
  BOOST_TEST(load_errors("[main]\nworker_connections = \"many\"\n") ==
             "test.toml:2:22: \"worker_connections\" must be an integer, not a string");
  BOOST_TEST(load_errors("main = 1\n") ==
             "test.toml:1:8: \"main\" must be a table, not an integer");
  BOOST_TEST(load_errors("[server]\nlisten = \"8080\"\n") ==
             "test.toml:1:1: \"server\" must be an array of tables (write [[server]]), not a "
             "table");
}

BOOST_AUTO_TEST_CASE(single_bracket_location_names_its_full_table) {
  // [server.location] makes "location" a table of the last [[server]]: the fix is
  // [[server.location]], not [[location]] (which would be a top-level table).
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\n[server.location]\npath = \"/\"\n") ==
             "test.toml:3:1: \"location\" must be an array of tables (write "
             "[[server.location]]), not a table");
}

BOOST_AUTO_TEST_CASE(integer_out_of_range) {
  BOOST_TEST(load_errors("[main]\nworker_processes = 0\n") ==
             "test.toml:2:20: \"worker_processes\" must be 1..1024, got 0");
  BOOST_TEST(load_errors("[log.rotate]\nkeep = -1\n") ==
             "test.toml:2:8: \"keep\" must be >= 0, got -1");
}

BOOST_AUTO_TEST_CASE(main_values_with_several_forms) {
  BOOST_TEST(load_errors(R"([main]
worker_processes = "many"
worker_cpu_affinity = 1
pid_file = ""
[log]
error_log = ""
)") == "test.toml:2:20: invalid value \"many\" for \"worker_processes\" (expected \"auto\" or "
       "1..1024)\n"
       "test.toml:3:23: \"worker_cpu_affinity\" must be \"auto\", \"off\" or a boolean, not an "
       "integer\n"
       "test.toml:4:12: \"pid_file\" must not be empty\n"
       "test.toml:6:13: \"error_log\" must be \"stderr\" or a path, not empty");
}

BOOST_AUTO_TEST_CASE(bad_duration) {
  BOOST_TEST(load_errors("[main]\nshutdown_timeout = \"5x\"\nupgrade_timeout = 30\n") ==
             "test.toml:2:20: invalid duration \"5x\" for \"shutdown_timeout\" (expected e.g. "
             "\"500ms\", \"30s\", \"5m\")\n"
             "test.toml:3:19: invalid duration 30 for \"upgrade_timeout\": a unit is required "
             "(e.g. \"30s\" or \"30ms\")");
}

BOOST_AUTO_TEST_CASE(max_draining_generations_out_of_range) {
  const std::string e = load_errors("[main]\nmax_draining_generations = 0\n");
  BOOST_TEST(e.starts_with("test.toml:2:28: "), e);
  BOOST_TEST(e.find("max_draining_generations") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(bad_size) {
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\nclient_max_body_size = \"10XB\"\n") ==
             "test.toml:3:24: invalid size \"10XB\" for \"client_max_body_size\" (expected e.g. "
             "\"512\", \"16KiB\", \"100MiB\")");
}

BOOST_AUTO_TEST_CASE(bad_enum_value_with_hint) {
  BOOST_TEST(load_errors("[log.rotate]\ninterval = \"dialy\"\n") ==
             "test.toml:2:12: invalid value \"dialy\" for \"interval\" (expected never, hourly "
             "or daily); did you mean \"daily\"?");
}

BOOST_AUTO_TEST_CASE(bad_address) {
  BOOST_TEST(load_errors("[[server]]\nlisten = [\"127.0.0.1:99999\"]\n") ==
             "test.toml:2:11: invalid listen address \"127.0.0.1:99999\": port must be 1..65535");
  BOOST_TEST(load_errors("[[server]]\nlisten = { address = \"[::1\" }\n") ==
             "test.toml:2:22: invalid listen address \"[::1\": missing \"]\" after the IPv6 "
             "address");
  BOOST_TEST(load_errors("[[upstream]]\nname = \"app\"\nservers = [{ address = \"9000\" }]\n") ==
             "test.toml:3:24: invalid upstream server address \"9000\": expected the backend's "
             "host:port");
}

BOOST_AUTO_TEST_CASE(duplicate_listen_and_server_name) {
  BOOST_TEST(load_errors(R"([[server]]
listen = "127.0.0.1:8080"
server_name = ["a.example", "B.example"]

[[server]]
listen = ["127.0.0.1:8081", "127.0.0.1:8080"]
server_name = "b.example"
)") == "test.toml:7:15: duplicate server_name \"b.example\" on 127.0.0.1:8080 (first defined at "
       "test.toml:3:29)");
  // Servers without a name share the name "": two of them on one address is ambiguous too.
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\n[[server]]\nlisten = \"*:8080\"\n") ==
             "test.toml:4:10: duplicate server_name \"\" on 0.0.0.0:8080 (first defined at "
             "test.toml:2:10)");
  // Different addresses may share names.
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\n[[server]]\nlisten = \"8081\"\n") == "");
}

BOOST_AUTO_TEST_CASE(same_socket_must_agree) {
  BOOST_TEST(load_errors(with_certs(R"([[server]]
listen = { address = "8443", tls = true, default_server = true }
server_name = "a"
tls = { certificate = "CERTDIR/a.pem", key = "CERTDIR/a.key" }
[[server]]
listen = { address = "8443", default_server = true }
server_name = "b"
)")) == "test.toml:6:10: conflicting tls = false for 0.0.0.0:8443 (tls = true at test.toml:2:10)\n"
        "test.toml:6:10: duplicate default_server for 0.0.0.0:8443 (first defined at "
        "test.toml:2:10)");
  BOOST_TEST(load_errors("[[server]]\nlisten = [\"8080\", \"*:8080\"]\n") ==
             "test.toml:2:19: duplicate listen address 0.0.0.0:8080 in this [[server]] (first "
             "defined at test.toml:2:11)");
}

BOOST_AUTO_TEST_CASE(two_content_handlers_in_a_location) {
  BOOST_TEST(load_errors(R"([[server]]
listen = "8080"
root = "html"
[[server.location]]
path = "/x"
return = { status = 301, location = "/new" }
root = "other"
)") == "test.toml:7:1: location \"/x\" has two content handlers: \"return\" (module redirect) "
       "and \"root\" (module files)");
  // An inherited root does not count: the explicit return is the handler.
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\nroot = \"html\"\n[[server.location]]\n"
                         "path = \"/x\"\nreturn = 404\n") == "");
}

BOOST_AUTO_TEST_CASE(bad_location_paths) {
  BOOST_TEST(load_errors(R"([[server]]
listen = "8080"
[[server.location]]
match = "regex"
path = "^/(foo"
[[server.location]]
path = "api/"
[[server.location]]
path = "/a"
[[server.location]]
path = "/a"
match = "exact"
[[server.location]]
path = "/a"
)") == "test.toml:5:8: invalid regex \"^/(foo\": Mismatched '(' and ')' in regular expression\n"
       "test.toml:7:8: location path \"api/\" must start with \"/\" (match = \"prefix\")\n"
       "test.toml:14:8: duplicate location \"/a\" (match = \"prefix\", first defined at "
       "test.toml:9:8)");
}

BOOST_AUTO_TEST_CASE(missing_required_keys) {
  BOOST_TEST(load_errors("[[server]]\nserver_name = \"a\"\n") ==
             "test.toml:1:1: missing required key \"listen\" in [[server]]");
  BOOST_TEST(load_errors("[[server]]\nlisten = []\n") ==
             "test.toml:2:10: \"listen\" must not be empty");
  BOOST_TEST(
      load_errors("[[server]]\nlisten = \"8080\"\n  [[server.location]]\n  match = \"exact\"\n") ==
      "test.toml:3:3: missing required key \"path\" in [[server.location]]");
  BOOST_TEST(load_errors("[[upstream]]\nkeepalive = 2\n") ==
             "test.toml:1:1: missing required key \"name\" in [[upstream]]\n"
             "test.toml:1:1: missing required key \"servers\" in [[upstream]]");
}

BOOST_AUTO_TEST_CASE(upstream_names) {
  BOOST_TEST(load_errors(R"([[upstream]]
name = "app"
servers = [{ address = "127.0.0.1:9000" }]
[[upstream]]
name = "app"
servers = [{ address = "127.0.0.1:9001" }]
[[upstream]]
name = "my app"
servers = []
)") == "test.toml:5:8: duplicate upstream \"app\" (first defined at test.toml:2:8)\n"
       "test.toml:8:8: invalid upstream name \"my app\": use only letters, digits, \"_\", \".\" "
       "and \"-\"\n"
       "test.toml:9:11: \"servers\" must not be empty");
}

BOOST_AUTO_TEST_CASE(bad_server_name_wildcard) {
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\nserver_name = [\"ok.example\", "
                         "\"www.*.example\"]\n") ==
             "test.toml:3:30: invalid server_name \"www.*.example\": \"*\" is only allowed as a "
             "leading \"*.\" or a trailing \".*\", as in \"*.example.com\" or "
             "\"www.example.*\"");
}

BOOST_AUTO_TEST_CASE(module_validate_errors_are_reported) {
  BOOST_TEST(load_errors("[[server]]\nlisten = \"8080\"\n[[server.location]]\npath = \"/\"\n"
                         "proxy_pass = \"http://nowhere\"\n") ==
             "test.toml:3:1: unknown upstream \"nowhere\" in proxy_pass");
}

BOOST_AUTO_TEST_CASE(every_error_of_the_file_in_position_order) {
  // [main] and [log] are read before the servers, yet the output follows the file.
  const LoadResult r = load_config_text(R"([[server]]
listen = "127.0.0.1:99999"
keepalive_timeout = "forever"
[main]
worker_connections = 0
daemon = "yes"
[log]
level = "verbose"
)",
                                        "test.toml", "/etc/serverd", test_modules());
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST(r.errors.size() == 5u);
  BOOST_TEST(r.errors.to_string() ==
             "test.toml:2:10: invalid listen address \"127.0.0.1:99999\": port must be 1..65535\n"
             "test.toml:3:21: invalid duration \"forever\" for \"keepalive_timeout\" (expected "
             "e.g. \"500ms\", \"30s\", \"5m\")\n"
             "test.toml:5:22: \"worker_connections\" must be 1..1048576, got 0\n"
             "test.toml:6:10: \"daemon\" must be a boolean, not a string\n"
             "test.toml:8:9: invalid value \"verbose\" for \"level\" (expected trace, debug, info, "
             "warn, error or critical)");
}

BOOST_AUTO_TEST_CASE(missing_file) {
  const LoadResult r = load_config_file("/nonexistent/serverd.toml", test_modules());
  BOOST_TEST(r.config == nullptr);
  BOOST_TEST(r.errors.to_string() ==
             "/nonexistent/serverd.toml: cannot open: No such file or directory");
  BOOST_TEST(load_config_file("/", test_modules()).errors.to_string() ==
             "/: cannot open: Is a directory");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
