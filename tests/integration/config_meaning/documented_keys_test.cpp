// Every key documented in man/server.toml.5 really is read: for each one this file has a config
// that sets it to a value other than its default; `serverd -t` must accept that config and
// `serverd -T` must show the value at the key's place. A documented key without an entry here
// fails the test, so a new key comes with its proof.
#include <toml++/toml.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../harness/ports.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/temp_dir.hpp"
#include "../harness/tls_support.hpp"

namespace fs = std::filesystem;
namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

// Documented keys as "TABLE KEY" ("[main] worker_connections"), read as docs_test does: in the
// KEYS section, each .SS heading names a table and each .TP/.TQ tag ".B key" is one of its keys.
std::vector<std::pair<std::string, std::string>> documented_keys() {
  std::ifstream in(fs::path(SERVERD_SOURCE_DIR) / "man/server.toml.5");
  BOOST_REQUIRE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto unquote = [](std::string s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
  };
  std::vector<std::pair<std::string, std::string>> keys;
  std::string sh, ss;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with(".SH ")) sh = unquote(lines[i].substr(4));
    if (lines[i].starts_with(".SS ")) ss = unquote(lines[i].substr(4));
    if ((lines[i] == ".TP" || lines[i] == ".TQ") && sh == "KEYS" && i + 1 < lines.size() &&
        lines[i + 1].starts_with(".B "))
      keys.emplace_back(ss, unquote(lines[i + 1].substr(3)));
  }
  return keys;
}

// One probe: `key = value` in `table`, plus `extra` settings a value needs (e.g. balance for
// hash_key) as (table, line). `expect` is what the dumped value must contain (whitespace
// ignored); empty = the value itself.
struct Probe {
  std::string value;
  std::string expect;
  std::vector<std::pair<std::string, std::string>> extra;
};

const std::string kMain = "[main]", kLog = "[log]", kRotate = "[log.rotate]", kUp = "[[upstream]]",
                  kUpServer = "[[upstream]] servers", kHealth = "[[upstream]] health_check",
                  kServer = "[[server]]", kListen = "[[server]] listen", kTls = "[[server]] tls",
                  kLoc = "[[server.location]]", kReturn = "[[server.location]] return";

// Keys that proxy/access-log/static/headers/core accept at both server and location level.
std::map<std::string, Probe> shared_http_probes() {
  return {
      {"client_max_body_size", {"\"3MiB\"", "", {}}},
      {"root", {"\"www\"", "www\"", {}}},
      {"index", {"[\"start.html\"]", "start.html", {}}},
      {"default_type", {"\"text/x-probe\"", "", {}}},
      {"proxy_set_header", {"{ X-Probe = \"1\" }", "X-Probe", {}}},
      {"proxy_hide_header", {"[\"X-Hidden\"]", "", {}}},
      {"proxy_connect_timeout", {"\"7s\"", "", {}}},
      {"proxy_read_timeout", {"\"8s\"", "", {}}},
      {"proxy_send_timeout", {"\"9s\"", "", {}}},
      {"proxy_next_upstream_tries", {"3", "", {}}},
      {"proxy_buffer_size", {"\"16KiB\"", "", {}}},
      {"proxy_ssl_verify", {"false", "", {}}},
      {"proxy_ssl_trusted_certificate", {"\"ca.pem\"", "ca.pem\"", {}}},
      {"proxy_ssl_server_name", {"false", "", {}}},
      {"proxy_ssl_name", {"\"backend.test\"", "", {}}},
      {"proxy_ssl_certificate",
       {"\"a.pem\"", "a.pem\"", {{"", "proxy_ssl_certificate_key = \"a.key\""}}}},
      {"proxy_ssl_certificate_key",
       {"\"a.key\"", "a.key\"", {{"", "proxy_ssl_certificate = \"a.pem\""}}}},
      {"access_log", {"\"probe.log\"", "probe.log\"", {}}},
      {"access_log_format", {"\"json\"", "", {}}},
      {"access_log_buffer", {"\"8KiB\"", "", {}}},
      {"access_log_flush", {"\"3s\"", "", {}}},
      {"add_header", {"{ X-Probe = \"1\" }", "X-Probe", {}}},
      {"charset", {"\"utf-8\"", "", {}}},
      {"charset_types", {"[\"text/css\"]", "", {}}},
      {"return", {"404", "", {}}},
  };
}

std::map<std::string, std::map<std::string, Probe>> probes() {
  std::map<std::string, std::map<std::string, Probe>> p;
  p[kMain] = {
      {"worker_processes", {"3", "", {}}},
      {"worker_connections", {"777", "", {}}},
      {"worker_rlimit_nofile", {"4096", "", {}}},
      {"worker_cpu_affinity", {"\"auto\"", "true", {}}},
      {"user", {"\"nobody\"", "", {}}},
      {"pid_file", {"\"probe.pid\"", "probe.pid\"", {}}},
      {"daemon", {"true", "", {}}},
      {"shutdown_timeout", {"\"11s\"", "", {}}},
      {"upgrade_timeout", {"\"12s\"", "", {}}},
      {"max_draining_generations", {"2", "", {}}},
      {"tls_ticket_key_rotation", {"\"2h\"", "", {}}},
      {"default_type", {"\"text/x-probe\"", "", {}}},
  };
  p[kLog] = {
      {"error_log", {"\"syslog:server=127.0.0.1:5514,tag=probe\"", "", {}}},
      {"level", {"\"warn\"", "", {}}},
      {"rotate", {"{ keep = 3 }", "keep=3", {}}},
  };
  p[kRotate] = {
      {"max_size", {"\"5MiB\"", "", {}}},
      {"interval", {"\"hourly\"", "", {}}},
      {"keep", {"4", "", {}}},
      {"compress", {"false", "", {}}},
  };
  p[kUp] = {
      {"name", {"\"probe_app\"", "", {}}},
      {"balance", {"\"least_conn\"", "", {}}},
      {"hash_key", {"\"$request_uri\"", "", {{kUp, "balance = \"hash\""}}}},
      {"keepalive", {"16", "", {}}},
      {"health_check", {"{ path = \"/probe\" }", "/probe", {}}},
      {"servers", {"[{ address = \"127.0.0.1:19\" }]", "127.0.0.1:19", {}}},
  };
  p[kUpServer] = {
      {"address", {"\"127.0.0.1:29\"", "", {}}},
      {"weight", {"5", "", {}}},
      {"max_fails", {"4", "", {}}},
      {"fail_timeout", {"\"20s\"", "", {}}},
      {"backup", {"true", "", {}}},
  };
  p[kHealth] = {
      {"path", {"\"/hc\"", "", {}}},   {"interval", {"\"7s\"", "", {}}},
      {"timeout", {"\"2s\"", "", {}}}, {"rise", {"5", "", {}}},
      {"fall", {"6", "", {}}},         {"status", {"[204]", "", {}}},
  };
  p[kServer] = shared_http_probes();
  p[kServer].merge(std::map<std::string, Probe>{
      {"listen", {"[\"127.0.0.1:{PORT2}\"]", "127.0.0.1:{PORT2}", {}}},
      {"server_name",
       {"[\"probe.test\", \".example.org\", \"~^api\\\\.\"]",
        "[\"probe.test\",\".example.org\",\"~^api\\.\"]",
        {}}},
      {"max_uri_length", {"\"4KiB\"", "", {}}},
      {"max_header_size", {"\"8KiB\"", "", {}}},
      {"client_header_timeout", {"\"13s\"", "", {}}},
      {"client_body_timeout", {"\"14s\"", "", {}}},
      {"keepalive_timeout", {"\"15s\"", "", {}}},
      {"send_timeout", {"\"16s\"", "", {}}},
      {"keepalive_requests", {"17", "", {}}},
      {"tls", {"{ certificate = \"a.pem\", key = \"a.key\" }", "a.pem\"", {}}},
      {"location", {"", "/probe-location", {}}},  // special: see config_for
  });
  p[kListen] = {
      {"address", {"\"127.0.0.1:{PORT2}\"", "", {}}},
      {"tls", {"true", "", {{kServer, "tls = { certificate = \"a.pem\", key = \"a.key\" }"}}}},
      {"reuseport", {"true", "", {}}},
      {"backlog", {"77", "", {}}},
      {"default_server", {"true", "", {}}},
  };
  p[kTls] = {
      {"certificate", {"\"b.pem\"", "b.pem\"", {{kTls, "key = \"b.key\""}}}},
      {"key", {"\"b.key\"", "b.key\"", {{kTls, "certificate = \"b.pem\""}}}},
      {"protocols", {"[\"TLSv1.3\"]", "", {}}},
      {"ciphers", {"\"ECDHE-ECDSA-AES128-GCM-SHA256\"", "", {}}},
      {"ciphersuites", {"\"TLS_AES_256_GCM_SHA384\"", "", {}}},
      {"curves", {"\"X25519\"", "", {}}},
      {"ocsp_response", {"\"a.ocsp\"", "a.ocsp\"", {}}},
      {"client_certificate", {"\"ca.pem\"", "ca.pem\"", {}}},
      {"verify_client", {"\"optional\"", "", {{kTls, "client_certificate = \"ca.pem\""}}}},
      {"verify_depth", {"3", "", {{kTls, "client_certificate = \"ca.pem\""}}}},
      {"handshake_timeout", {"\"4s\"", "", {}}},
  };
  p[kLoc] = shared_http_probes();
  p[kLoc].merge(std::map<std::string, Probe>{
      {"path", {"\"/probe\"", "", {}}},
      {"match", {"\"exact\"", "", {}}},
      {"alias", {"\"www/\"", "www/\"", {}}},
      {"proxy_pass", {"\"http://app\"", "", {}}},
  });
  p[kReturn] = {
      {"status", {"302", "", {{kReturn, "location = \"/x\""}}}},
      {"location", {"\"/moved\"", "", {{kReturn, "status = 301"}}}},
      {"body", {"\"probe body\"", "", {{kReturn, "status = 200"}}}},
      {"content_type",
       {"\"text/x-probe\"", "", {{kReturn, "status = 200"}, {kReturn, "body = \"b\""}}}},
  };
  return p;
}

// Lines per table; later lines for the same key replace earlier ones.
class Lines {
 public:
  void set(const std::string& line) {
    const std::string key = line.substr(0, line.find(" = "));
    for (auto& l : lines_)
      if (l.substr(0, l.find(" = ")) == key) {
        l = line;
        return;
      }
    lines_.push_back(line);
  }
  bool has(const std::string& key) const {
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.substr(0, l.find(" = ")) == key; });
  }
  std::string block(const std::string& indent = "") const {
    std::string out;
    for (const auto& l : lines_) out += indent + l + "\n";
    return out;
  }
  std::string inline_table() const {
    std::string out = "{ ";
    for (std::size_t i = 0; i < lines_.size(); ++i) out += (i ? ", " : "") + lines_[i];
    return out + " }";
  }

 private:
  std::vector<std::string> lines_;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// A whole config: defaults for every table, then the probe's own settings.
std::string config_for(const std::string& table, const std::string& key, const Probe& probe) {
  std::map<std::string, Lines> t;
  t[kMain].set("pid_file = \"serverd.pid\"");
  t[kMain].set("worker_processes = 1");
  t[kLog].set("error_log = \"error.log\"");
  t[kUp].set("name = \"app\"");
  t[kUpServer].set("address = \"127.0.0.1:9\"");
  t[kListen].set("address = \"127.0.0.1:{PORT}\"");
  t[kLoc].set("path = \"/\"");
  t[kReturn].set("status = 204");
  for (const auto& [where, line] : probe.extra) t[where.empty() ? table : where].set(line);
  if (!(table == kServer && key == "location")) t[table].set(key + " = " + probe.value);
  // A location answers with one handler: drop the default `return` when another one is probed.
  const bool other_handler =
      table == kLoc && (key == "root" || key == "alias" || key == "proxy_pass" || key == "return" ||
                        key == "index" || key == "default_type");
  const bool server_return = table == kServer && key == "return";
  if (!(table == kLoc && key == "return") && !other_handler && !server_return)
    t[kLoc].set("return = " + t[kReturn].inline_table());
  // proxy_* keys in a location that proxies (not one that returns), so they are its own.
  if (table == kLoc && key.starts_with("proxy_") && key != "proxy_pass") {
    Lines l;
    l.set("path = \"/\"");
    l.set("proxy_pass = \"http://app\"");
    l.set(key + " = " + probe.value);
    for (const auto& [where, line] : probe.extra)
      if (where.empty()) l.set(line);
    t[kLoc] = l;
  }
  const bool tls_listen = (table == kListen && key == "tls");
  if (table == kTls && !t[kTls].has("certificate")) t[kTls].set("certificate = \"a.pem\"");
  if (table == kTls && !t[kTls].has("key")) t[kTls].set("key = \"a.key\"");
  if (table == kTls) t[kServer].set("tls = " + t[kTls].inline_table());
  if (table == kTls || tls_listen) t[kListen].set("tls = true");
  if (table == kServer && key == "tls") t[kListen].set("tls = true");

  std::string c = "[main]\n" + t[kMain].block() + "\n[log]\n" + t[kLog].block() + "\n";
  if (table == kRotate) c += "[log.rotate]\n" + t[kRotate].block() + "\n";
  Lines up = t[kUp];
  if (!up.has("servers")) up.set("servers = [" + t[kUpServer].inline_table() + "]");
  if (table == kHealth) up.set("health_check = " + t[kHealth].inline_table());
  c += "[[upstream]]\n" + up.block() + "\n";
  if (table == kUp && key == "name")
    c += "[[upstream]]\nname = \"app\"\nservers = [{ address = \"127.0.0.1:9\" }]\n\n";
  Lines server = t[kServer];
  if (!server.has("listen")) server.set("listen = [" + t[kListen].inline_table() + "]");
  c += "[[server]]\n" + server.block() + "\n";
  c += "  [[server.location]]\n" + t[kLoc].block("  ") + "\n";
  if (table == kServer && key == "location")
    c += "  [[server.location]]\n  path = \"/probe-location\"\n  return = 204\n\n";
  return c;
}

// The dumped table a probe's key lives in.
const toml::node* dumped_value(const toml::table& root, const std::string& table,
                               const std::string& key) {
  const toml::node* n = nullptr;
  auto server = root["server"][0];
  auto upstream = root["upstream"][0];
  if (table == kMain) n = root["main"][key].node();
  if (table == kLog) n = root["log"][key].node();
  if (table == kRotate) n = root["log"]["rotate"][key].node();
  if (table == kUp) n = upstream[key].node();
  if (table == kUpServer) n = upstream["servers"][0][key].node();
  if (table == kHealth) n = upstream["health_check"][key].node();
  if (table == kServer) n = server[key].node();
  if (table == kListen) n = server["listen"][0][key].node();
  if (table == kTls) n = server["tls"][key].node();
  if (table == kLoc) n = server["location"][0][key].node();
  if (table == kReturn) n = server["location"][0]["return"][key].node();
  return n;
}

// A dumped value in one spelling: strings in double quotes, unescaped; arrays "[a,b]"; tables
// "{k=v,...}" (toml++ would print literal strings in single quotes).
std::string render(const toml::node& n) {
  if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
  if (const auto* a = n.as_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < a->size(); ++i) out += (i ? "," : "") + render(*a->get(i));
    return out + "]";
  }
  if (const auto* t = n.as_table()) {
    std::string out = "{";
    bool first = true;
    for (auto&& [k, v] : *t) {
      out += (first ? "" : ",") + std::string(k.str()) + "=" + render(v);
      first = false;
    }
    return out + "}";
  }
  toml::table holder;  // numbers, booleans: toml++'s own spelling
  n.visit([&](auto&& v) { holder.insert_or_assign("v", v); });
  std::ostringstream out;
  out << holder;
  return out.str().substr(4);
}

std::string without_spaces(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n'; }),
          s.end());
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_meaning_documented_keys)

BOOST_AUTO_TEST_CASE(every_documented_key_is_read_and_dumped) {
  it::TempDir dir;
  it::make_ca(dir.path(), "ca");
  it::make_cert(dir.path(), "ca", "a", "a.test", {"DNS:a.test"});
  it::make_cert(dir.path(), "ca", "b", "b.test", {"DNS:b.test"});
  {  // a.ocsp: a signed OCSP response for a.pem
    dir.write("index.txt", "");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"ocsp", "-issuer", "ca.pem", "-cert", "a.pem", "-reqout",
                                   "req.der", "-no_nonce"},
          std::vector<std::string>{"ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey",
                                   "ca.key", "-CA", "ca.pem", "-reqin", "req.der", "-respout",
                                   "a.ocsp", "-ndays", "1"}}) {
      std::vector<std::string> argv{"/usr/bin/openssl"};
      argv.insert(argv.end(), args.begin(), args.end());
      const auto r = it::run_command(argv, 20s, dir.path());
      BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output());
    }
  }
  dir.mkdir("www");
  const std::string port = std::to_string(it::pick_free_port());
  const std::string port2 = std::to_string(it::pick_free_port());
  const auto table = probes();
  const auto documented = documented_keys();
  BOOST_TEST(documented.size() > 100U);
  for (const auto& [section, key] : documented) {
    BOOST_TEST_CONTEXT(section << " " << key) {
      const auto s = table.find(section);
      const bool known = s != table.end() && s->second.count(key) == 1;
      BOOST_TEST(known, "man/server.toml.5 documents "
                            << section << " " << key
                            << " but tests/integration/config_meaning/documented_keys_test.cpp "
                               "has no probe for it: add one");
      if (!known) continue;
      const Probe& probe = s->second.at(key);
      std::string text = config_for(section, key, probe);
      text = replace_all(replace_all(text, "{PORT2}", port2), "{PORT}", port);
      const auto path = dir.write("probe.toml", text);
      const auto r = it::run_serverd({"-T", "-c", path.string()});
      BOOST_TEST(r.exit_code == 0, "-T failed:\n" << r.err << "\nconfig:\n" << text);
      if (r.exit_code != 0) continue;
      toml::table root;
      try {
        root = toml::parse(r.out);
      } catch (const toml::parse_error& e) {
        BOOST_TEST(false, "the dump does not parse: " << e.description() << "\n" << r.out);
        continue;
      }
      const toml::node* value = dumped_value(root, section, key);
      if (section == kServer && key == "location")
        value = root["server"][0]["location"][1]["path"].node();
      BOOST_TEST(value != nullptr, "-T does not show " << key << ":\n" << r.out);
      if (value == nullptr) continue;
      std::ostringstream shown;
      shown << render(*value);
      const std::string expect = replace_all(
          replace_all(probe.expect.empty() ? probe.value : probe.expect, "{PORT2}", port2),
          "{PORT}", port);
      BOOST_TEST(without_spaces(shown.str()).find(without_spaces(expect)) != std::string::npos,
                 "-T shows " << key << " = " << shown.str() << ", not " << expect << "\nconfig:\n"
                             << text);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
