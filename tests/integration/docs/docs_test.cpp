// The manual pages against the code: every configuration key the loader accepts is documented
// in man/server.toml.5 under its table (and nothing documented there is unknown to the
// loader), every option `serverd -h` prints, every -s command and every signal the master
// handles is in man/serverd.8, and the packaged configuration and examples load.
#include <toml++/toml.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../harness/process_runner.hpp"
#include "core/config_core_rows.hpp"
#include "core/config_loader.hpp"
#include "http/module.hpp"
#include "modules/modules.hpp"
#include "modules/return/return_module.hpp"

namespace it = serverd::itest;
namespace fs = std::filesystem;

namespace {

using Sections = std::map<std::string, std::set<std::string>>;

// The .SS headings of man/server.toml.5 ("KEYS" section), one per table.
const std::string kMain = "[main]";
const std::string kLog = "[log]";
const std::string kRotate = "[log.rotate]";
const std::string kUpstream = "[[upstream]]";
const std::string kUpstreamServer = "[[upstream]] servers";
const std::string kHealthCheck = "[[upstream]] health_check";
const std::string kServer = "[[server]]";
const std::string kListen = "[[server]] listen";
const std::string kTls = "[[server]] tls";
const std::string kLocation = "[[server.location]]";
const std::string kReturn = "[[server.location]] return";

fs::path source_dir() {
  return fs::path(SERVERD_SOURCE_DIR);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Keys documented in man/server.toml.5: in the KEYS section, each ".SS" heading names a table
// and each ".TP"/".TQ" tag written as ".B key" is a key of that table.
Sections documented_keys() {
  const auto lines = lines_of(read_file(source_dir() / "man/server.toml.5"));
  Sections sections;
  std::string sh, ss;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.starts_with(".SH ")) {
      sh = unquote(line.substr(4));
      ss.clear();
    } else if (line.starts_with(".SS ")) {
      ss = unquote(line.substr(4));
      if (sh == "KEYS") sections[ss];
    } else if ((line == ".TP" || line == ".TQ") && sh == "KEYS" && i + 1 < lines.size() &&
               lines[i + 1].starts_with(".B ")) {
      BOOST_REQUIRE_MESSAGE(!ss.empty(), "a key before the first .SS in server.toml.5");
      sections[ss].insert(unquote(lines[i + 1].substr(3)));
    }
  }
  return sections;
}

// The string literals of a `kName{...}` / `kName[] = {...}` table in a source file.
std::vector<std::string> source_table(const std::string& file, const std::string& name) {
  const std::string text = read_file(source_dir() / file);
  const std::regex table_re(name + R"((\[\])?\s*(=\s*)?\{([^}]*)\})");
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(
      std::regex_search(text, m, table_re),
      "no key table " << name << " in " << file << " (renamed? update tests/integration/docs)");
  const std::string body = m[3].str();
  std::vector<std::string> keys;
  const std::regex literal_re(R"re("([^"]*)")re");
  for (auto i = std::sregex_iterator(body.begin(), body.end(), literal_re);
       i != std::sregex_iterator(); ++i)
    keys.push_back((*i)[1].str());
  BOOST_REQUIRE_MESSAGE(!keys.empty(), "key table " << name << " in " << file << " is empty");
  return keys;
}

// The manual's heading of a block level.
const std::string& heading_of(serverd::ConfigLevel level) {
  switch (level) {
    case serverd::ConfigLevel::main:
      return kMain;
    case serverd::ConfigLevel::server:
      return kServer;
    case serverd::ConfigLevel::location:
      break;
  }
  return kLocation;
}

constexpr serverd::ConfigLevel kBlockLevels[] = {
    serverd::ConfigLevel::main, serverd::ConfigLevel::server, serverd::ConfigLevel::location};

// Every directive row, per table: core's tables, then each module's rows at every level they
// allow (modules from the ordered module list).
Sections directive_rows() {
  Sections s;
  for (const serverd::CoreTable& table : serverd::core_tables())
    for (const serverd::Directive& row : table.rows)
      s[std::string(table.heading)].insert(std::string(row.name));
  for (const serverd::Module* m : serverd::builtin_modules())
    for (const serverd::Directive& row : m->directives())
      for (serverd::ConfigLevel level : kBlockLevels)
        if (serverd::has_level(row.levels, level))
          s[heading_of(level)].insert(std::string(row.name));
  return s;
}

// Every key the loader accepts, per table: the rows, and the keys of `return = { ... }`.
Sections accepted_keys() {
  Sections s = directive_rows();
  for (std::string_view k : serverd::return_table_keys()) s[kReturn].insert(std::string(k));
  return s;
}

void require_documented(const Sections& accepted, const Sections& documented,
                        const std::string& origin) {
  for (const auto& [table, keys] : accepted) {
    const auto doc = documented.find(table);
    BOOST_TEST_CONTEXT("table " << table << " (" << origin << ")") {
      BOOST_TEST((doc != documented.end()),
                 "man/server.toml.5 has no section .SS \"" << table << "\"");
      if (doc == documented.end()) continue;
      for (const auto& key : keys)
        BOOST_TEST(doc->second.count(key) == 1U,
                   "key \"" << key << "\" of " << table
                            << " is accepted by the loader but not documented in "
                               "man/server.toml.5 (add .TP/.B "
                            << key << " under .SS \"" << table << "\")");
    }
  }
}

// A configuration that sets `key` in the given table, to ask the loader whether it knows it.
std::string probe_config(const std::string& table, const std::string& key) {
  const std::string kv = key + " = 0\n";
  if (table == kMain) return "[main]\n" + kv;
  if (table == kLog) return "[log]\n" + kv;
  if (table == kRotate) return "[log.rotate]\n" + kv;
  if (table == kUpstream) return "[[upstream]]\n" + kv;
  if (table == kUpstreamServer)
    return "[[upstream]]\nname = \"u\"\nservers = [{ " + key + " = 0 }]\n";
  if (table == kHealthCheck)
    return "[[upstream]]\nname = \"u\"\nhealth_check = { " + key + " = 0 }\n";
  if (table == kServer) return "[[server]]\n" + kv;
  if (table == kListen) return "[[server]]\nlisten = [{ " + key + " = 0 }]\n";
  if (table == kTls) return "[[server]]\ntls = { " + key + " = 0 }\n";
  if (table == kLocation)
    return "[[server]]\nlisten = [\"127.0.0.1:1\"]\n[[server.location]]\n" + kv;
  if (table == kReturn)
    return "[[server]]\nlisten = [\"127.0.0.1:1\"]\n[[server.location]]\npath = \"/\"\n"
           "return = { " +
           key + " = 0 }\n";
  return {};
}

bool loader_rejects_key(const std::string& text, const std::string& key) {
  auto result = serverd::load_config_text(text, "probe.toml", fs::temp_directory_path(),
                                          serverd::builtin_modules());
  const std::string errors = result.errors.to_string();
  return errors.find("unknown key \"" + key + "\"") != std::string::npos ||
         errors.find("unknown key `" + key + "`") != std::string::npos ||
         errors.find("\"" + key + "\" is not allowed") != std::string::npos;
}

// Keys per table of a parsed `serverd -T` dump, named with the manual's headings.
void collect_dump_keys(const toml::table& root, Sections& out) {
  auto keys_of = [](const toml::table& t, const std::string& table, Sections& s) {
    for (auto&& [k, v] : t) s[table].insert(std::string(k.str()));
  };
  if (const auto* t = root["main"].as_table()) keys_of(*t, kMain, out);
  if (const auto* t = root["log"].as_table()) {
    keys_of(*t, kLog, out);
    if (const auto* r = (*t)["rotate"].as_table()) keys_of(*r, kRotate, out);
  }
  if (const auto* ups = root["upstream"].as_array()) {
    for (const auto& u : *ups) {
      const auto* ut = u.as_table();
      if (!ut) continue;
      keys_of(*ut, kUpstream, out);
      if (const auto* h = (*ut)["health_check"].as_table()) keys_of(*h, kHealthCheck, out);
      if (const auto* servers = (*ut)["servers"].as_array())
        for (const auto& s : *servers)
          if (const auto* st = s.as_table()) keys_of(*st, kUpstreamServer, out);
    }
  }
  if (const auto* servers = root["server"].as_array()) {
    for (const auto& s : *servers) {
      const auto* st = s.as_table();
      if (!st) continue;
      keys_of(*st, kServer, out);
      if (const auto* listen = (*st)["listen"].as_array())
        for (const auto& l : *listen)
          if (const auto* lt = l.as_table()) keys_of(*lt, kListen, out);
      if (const auto* tt = (*st)["tls"].as_table()) keys_of(*tt, kTls, out);
      if (const auto* locs = (*st)["location"].as_array())
        for (const auto& l : *locs)
          if (const auto* lt = l.as_table()) keys_of(*lt, kLocation, out);
    }
  }
}

// Uses every table, and the keys that are only written out when set.
const char* kEverything = R"toml(
[main]
worker_rlimit_nofile = 4096
user = "nobody"

[log]
error_log = "stderr"

[log.rotate]
max_size = "1MiB"

[[upstream]]
name = "app"
balance = "hash"
health_check = { status = [200] }
servers = [{ address = "127.0.0.1:9000", backup = false }]

[[server]]
listen = [{ address = "127.0.0.1:8080", reuseport = true }]
server_name = ["example.com"]
root = "html"
proxy_set_header = { X-A = "b" }
proxy_hide_header = ["X-B"]
access_log = "access.log"

  [[server.location]]
  path = "/api/"
  proxy_pass = "http://app"

  [[server.location]]
  path = "/files/"
  alias = "files"

  [[server.location]]
  path = "/r"
  return = { status = 200, body = "x", content_type = "text/plain" }
)toml";

}  // namespace

BOOST_AUTO_TEST_SUITE(docs)

BOOST_AUTO_TEST_CASE(every_config_key_the_loader_accepts_is_in_server_toml_5) {
  const Sections documented = documented_keys();
  BOOST_REQUIRE_MESSAGE(documented.size() >= 10U, "server.toml.5 has too few .SS sections");
  require_documented(accepted_keys(), documented, "the loader's key tables");

  // Each top-level key is a table with its own section.
  for (const auto& top : source_table("src/core/config_loader.cpp", "kTopLevelKeys"))
    BOOST_TEST((documented.count("[" + top + "]") + documented.count("[[" + top + "]]")) == 1U,
               "top-level table \"" << top << "\" has no section in man/server.toml.5");
}

BOOST_AUTO_TEST_CASE(every_directive_row_is_documented_in_server_toml_5) {
  const Sections documented = documented_keys();
  const Sections rows = directive_rows();
  BOOST_TEST(rows.size() >= 10U, "core's tables are missing from the directive rows");
  // Every module of the ordered list, each of its rows at every level it allows.
  for (const serverd::Module* m : serverd::builtin_modules()) {
    BOOST_TEST_CONTEXT("module " << m->name()) {
      BOOST_TEST(!m->directives().empty(), "a module without directive rows");
      for (const serverd::Directive& row : m->directives()) {
        bool somewhere = false;
        for (serverd::ConfigLevel level : kBlockLevels) {
          if (!serverd::has_level(row.levels, level)) continue;
          somewhere = true;
          const auto doc = documented.find(heading_of(level));
          BOOST_TEST((doc != documented.end() && doc->second.count(std::string(row.name)) == 1U),
                     "directive \"" << row.name << "\" of module " << m->name() << " in "
                                    << heading_of(level)
                                    << " is not documented in man/server.toml.5");
        }
        BOOST_TEST(somewhere, "directive \"" << row.name << "\" is allowed at no level");
      }
    }
  }
  // Core's tables, under their own headings.
  require_documented(rows, documented, "directive rows");
}

BOOST_AUTO_TEST_CASE(every_key_in_an_effective_config_dump_is_documented) {
  auto result = serverd::load_config_text(kEverything, "everything.toml", fs::temp_directory_path(),
                                          serverd::builtin_modules());
  BOOST_REQUIRE_MESSAGE(result.config, result.errors.to_string());
  const std::string dump = serverd::dump_config(*result.config, serverd::builtin_modules());
  toml::table root;
  try {
    root = toml::parse(dump);
  } catch (const toml::parse_error& e) {
    BOOST_FAIL("serverd -T output does not parse: " << e.description() << "\n" << dump);
  }
  Sections dumped;
  collect_dump_keys(root, dumped);
  BOOST_TEST(dumped.size() >= 9U);
  require_documented(dumped, documented_keys(), "serverd -T output");
}

BOOST_AUTO_TEST_CASE(every_documented_key_is_known_to_the_loader) {
  // Guards against stale documentation: a key removed or renamed in the code.
  for (const auto& [table, keys] : documented_keys()) {
    BOOST_TEST_CONTEXT("table " << table) {
      BOOST_TEST(!probe_config(table, "x").empty(),
                 "unexpected section .SS \"" << table << "\" in the KEYS of server.toml.5");
      for (const auto& key : keys) {
        const std::string text = probe_config(table, key);
        if (text.empty()) continue;
        BOOST_TEST(!loader_rejects_key(text, key), "man/server.toml.5 documents \""
                                                       << key << "\" under " << table
                                                       << " but the loader rejects it there");
      }
    }
  }
  // The probe itself must be able to fail.
  BOOST_TEST(loader_rejects_key(probe_config(kMain, "no_such_key"), "no_such_key"));
}

BOOST_AUTO_TEST_CASE(every_option_of_serverd_h_is_in_serverd_8) {
  const std::string man = read_file(source_dir() / "man/serverd.8");
  const auto help = it::run_serverd({"-h"});
  BOOST_REQUIRE_EQUAL(help.exit_code, 0);
  std::set<char> options;
  const std::regex option_re(R"(^\s+-([A-Za-z])\b)");
  for (const auto& line : lines_of(help.out)) {
    std::smatch m;
    if (std::regex_search(line, m, option_re)) options.insert(m[1].str()[0]);
  }
  BOOST_TEST(options.size() >= 7U, "serverd -h printed:\n" << help.out);
  for (char o : options) {
    const std::regex tag_re(std::string(R"((^|\n)\.BI? \\-)") + o + R"(( |\n))");
    BOOST_TEST(std::regex_search(man, tag_re),
               "option -" << o << " of serverd -h is not documented in man/serverd.8 "
                          << "(add .TP/.B \\-" << o << " under OPTIONS)");
  }

  // The -s commands, as serverd itself lists them.
  const auto bad = it::run_serverd({"-s", "no-such-signal"});
  BOOST_TEST(bad.exit_code == 2);
  std::smatch m;
  const std::regex list_re(R"(\(use ([^)]*)\))");
  BOOST_REQUIRE_MESSAGE(std::regex_search(bad.err, m, list_re), "serverd -s said: " << bad.err);
  const std::regex word_re(R"([a-z]+)");
  const std::string list = m[1].str();
  int commands = 0;
  for (auto i = std::sregex_iterator(list.begin(), list.end(), word_re);
       i != std::sregex_iterator(); ++i) {
    const std::string word = (*i).str();
    if (word == "or") continue;
    ++commands;
    BOOST_TEST(man.find("\n.TP\n.B " + word + "\n") != std::string::npos,
               "-s " << word << " is not documented in man/serverd.8 (COMMANDS)");
  }
  BOOST_TEST(commands >= 5);
}

BOOST_AUTO_TEST_CASE(every_signal_the_master_handles_is_in_serverd_8) {
  const std::string man = read_file(source_dir() / "man/serverd.8");
  const auto start = man.find("\n.SH SIGNALS\n");
  BOOST_REQUIRE(start != std::string::npos);
  const std::string signals = man.substr(start, man.find("\n.SH ", start + 1) - start);
  const std::string master = read_file(source_dir() / "src/process/master.cpp");
  std::smatch m;
  const std::regex source_re(R"(kMasterSignals\{([^}]*)\})");
  BOOST_REQUIRE_MESSAGE(std::regex_search(master, m, source_re),
                        "cannot find kMasterSignals in src/process/master.cpp");
  const std::string list = m[1].str();
  const std::regex sig_re(R"(SIG[A-Z0-9]+)");
  int count = 0;
  for (auto i = std::sregex_iterator(list.begin(), list.end(), sig_re); i != std::sregex_iterator();
       ++i) {
    const std::string sig = (*i).str();
    if (sig == "SIGCHLD") continue;  // internal: reaping children
    ++count;
    BOOST_TEST(std::regex_search(signals, std::regex("\\n\\.BR?[^\\n]*\\b" + sig + "\\b")),
               sig << " is handled by the master but not documented in man/serverd.8 (SIGNALS)");
  }
  BOOST_TEST(count >= 7);
}

BOOST_AUTO_TEST_CASE(packaged_configuration_and_examples_load) {
  std::vector<fs::path> files{source_dir() / "packaging/server.toml"};
  for (const auto& e : fs::directory_iterator(source_dir() / "packaging/examples"))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  BOOST_TEST(files.size() >= 5U);
  for (const auto& f : files) {
    auto result = serverd::load_config_file(f.string(), serverd::builtin_modules());
    BOOST_TEST(static_cast<bool>(result.config), f << ":\n" << result.errors.to_string());
  }
}

BOOST_AUTO_TEST_SUITE_END()
