// The access_log module: keys, defaults, inheritance, "off", errors, dump round trip, log_files,
// and a worker's life (init_worker, log_exchange, reopen_logs, exit_worker) end to end.
#include "modules/access_log/access_log_module.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../module_test_support.hpp"
#include "core/config_loader.hpp"
#include "event/loop.hpp"
#include "modules/modules.hpp"
#include "process/worker_context.hpp"

namespace serverd {
namespace {

using test::configure_from;
using test::TempDir;
using test::TestRequest;
using namespace std::chrono_literals;

const AccessLogConf& as_alog(const ModuleConfPtr& p) {
  BOOST_REQUIRE(p != nullptr);
  const auto* conf = dynamic_cast<const AccessLogConf*>(p.get());
  BOOST_REQUIRE(conf != nullptr);
  return *conf;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

const AccessLogModule& module() {
  const ModuleList& list = builtin_modules();
  const int i = list.index_of("access_log");
  BOOST_REQUIRE(i >= 0);
  BOOST_REQUIRE(static_cast<std::size_t>(i) == list.size() - 1);  // listed last
  return static_cast<const AccessLogModule&>(list[static_cast<std::size_t>(i)]);
}

const ModuleConfPtr& conf_at(const ModuleConfs& confs) {
  return confs.at(static_cast<std::size_t>(builtin_modules().index_of("access_log")));
}

BOOST_AUTO_TEST_SUITE(access_log_module)

BOOST_AUTO_TEST_CASE(defaults_and_relative_paths) {
  AccessLogModule m;
  auto r =
      configure_from(m, ConfigLevel::server, R"(access_log = "logs/../logs/access.log")", nullptr);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.error_text());
  const AccessLogConf& c = as_alog(r.conf);
  BOOST_TEST(!c.off);
  BOOST_TEST(c.path.string() == "/etc/serverd/logs/access.log");
  BOOST_TEST((c.format->kind == LogFormat::Kind::combined));
  BOOST_TEST(c.buffer_size == 64u * 1024u);
  BOOST_TEST(c.flush.count() == 1000);
  // No key: nothing configured (off by default).
  auto none = configure_from(m, ConfigLevel::server, "x = 1", nullptr);
  BOOST_TEST(none.conf == nullptr);
  auto main_level = configure_from(m, ConfigLevel::main, R"(access_log = "a")", nullptr);
  BOOST_TEST(main_level.conf == nullptr);
}

BOOST_AUTO_TEST_CASE(locations_inherit_and_may_turn_it_off) {
  AccessLogModule m;
  auto server = configure_from(m, ConfigLevel::server,
                               "access_log = \"/var/log/a.log\"\naccess_log_format = \"json\"\n"
                               "access_log_buffer = \"8KiB\"\naccess_log_flush = \"250ms\"\n",
                               nullptr);
  BOOST_TEST_REQUIRE(server.errors.empty(), server.error_text());
  auto same = configure_from(m, ConfigLevel::location, "y = 2", server.conf);
  BOOST_TEST(same.conf == server.conf);
  auto off = configure_from(m, ConfigLevel::location, R"(access_log = "off")", server.conf);
  BOOST_TEST(as_alog(off.conf).off);
  auto fmt =
      configure_from(m, ConfigLevel::location, R"(access_log_format = "$status")", server.conf);
  const AccessLogConf& f = as_alog(fmt.conf);
  BOOST_TEST(!f.off);
  BOOST_TEST(f.path.string() == "/var/log/a.log");
  BOOST_TEST((f.format->kind == LogFormat::Kind::custom));
  BOOST_TEST(f.buffer_size == 8192u);
  BOOST_TEST(f.flush.count() == 250);
  BOOST_TEST(f.binding != as_alog(server.conf).binding);
}

BOOST_AUTO_TEST_CASE(invalid_values_are_errors) {
  AccessLogModule m;
  for (const char* text :
       {R"(access_log = "")", "access_log = 3", R"(access_log = "logs/")", "access_log = \"a\\nb\"",
        R"(access_log_format = "")", "access_log_format = 1", R"(access_log_buffer = "lots")",
        R"(access_log_buffer = "1GiB")", R"(access_log_flush = "1")",
        R"(access_log_flush = "0s")"}) {
    BOOST_TEST_CONTEXT(text) {
      auto r = configure_from(m, ConfigLevel::location, text, nullptr);
      BOOST_TEST(r.errors.size() == 1u, r.error_text());
      BOOST_TEST(r.error_text().starts_with("test.toml:1:"), r.error_text());
    }
  }
}

constexpr std::string_view kConfig = R"([[server]]
listen = "127.0.0.1:8080"
access_log = "logs/access.log"
  [[server.location]]
  path = "/quiet/"
  access_log = "off"
  [[server.location]]
  path = "/api/"
  access_log = "logs/api.log"
  access_log_format = "json"
  [[server.location]]
  path = "/short/"
  access_log_format = "$status $uri"
  access_log_flush = "100ms"
  [[server.location]]
  path = "/"
[[server]]
listen = "127.0.0.1:8081"
access_log = "logs/access.log"
)";

LoadResult load(const std::filesystem::path& base) {
  return load_config_text(kConfig, "serverd.toml", base, builtin_modules());
}

BOOST_AUTO_TEST_CASE(dump_round_trips) {
  const LoadResult first = load("/etc/serverd");
  BOOST_TEST_REQUIRE(first.errors.to_string() == "");
  const std::string dump = dump_config(*first.config, builtin_modules());
  BOOST_TEST(dump.find("access_log = \"/etc/serverd/logs/access.log\"") != std::string::npos, dump);
  BOOST_TEST(dump.find("access_log = \"off\"") != std::string::npos, dump);
  BOOST_TEST(dump.find("access_log_format = \"$status $uri\"") != std::string::npos, dump);
  BOOST_TEST(dump.find("access_log_buffer = \"64KiB\"") != std::string::npos, dump);
  BOOST_TEST(dump.find("access_log_flush = \"100ms\"") != std::string::npos, dump);
  const LoadResult second = load_config_text(dump, "dump.toml", "/", builtin_modules());
  BOOST_TEST_REQUIRE(second.errors.to_string() == "", "dump:\n" << dump);
  BOOST_TEST(dump_config(*second.config, builtin_modules()) == dump);
}

BOOST_AUTO_TEST_CASE(log_files_lists_every_path_once) {
  const LoadResult r = load("/etc/serverd");
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  std::vector<std::filesystem::path> files;
  module().log_files(*r.config, files);
  BOOST_TEST_REQUIRE(files.size() == 2u);
  BOOST_TEST(files[0].string() == "/etc/serverd/logs/access.log");
  BOOST_TEST(files[1].string() == "/etc/serverd/logs/api.log");
}

BOOST_AUTO_TEST_CASE(a_worker_logs_its_exchanges) {
  TempDir dir;
  const LoadResult r = load(dir.path());
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  const Config& config = *r.config;
  const auto& locs = config.servers.at(0).locations;
  const ModuleConfPtr& quiet = conf_at(locs.at(0).modules);
  const ModuleConfPtr& api = conf_at(locs.at(1).modules);
  const ModuleConfPtr& shorter = conf_at(locs.at(2).modules);
  const ModuleConfPtr& root = conf_at(locs.at(3).modules);
  BOOST_TEST(root == conf_at(config.servers.at(0).modules));  // inherited as is

  ExchangeLog log;
  log.status = 200;
  log.body_bytes_sent = 5;
  TestRequest req("GET", "/short/x");

  // Before init_worker (as in the master) nothing is written and nothing breaks.
  module().log_exchange(req.get(), log, *root);
  BOOST_TEST(!std::filesystem::exists(dir.path() / "logs" / "access.log"));

  EventLoop loop;
  WorkerContext worker(loop, config, 0);
  module().init_worker(worker);
  BOOST_TEST(std::filesystem::exists(dir.path() / "logs" / "access.log"));
  BOOST_TEST(std::filesystem::exists(dir.path() / "logs" / "api.log"));

  module().log_exchange(req.get(), log, *quiet);    // off: nothing
  module().log_exchange(req.get(), log, *shorter);  // "200 /short/x"
  module().log_exchange(req.get(), log, *root);     // combined
  module().log_exchange(req.get(), log, *api);      // json, other file
  // Buffered: nothing on disk yet.
  BOOST_TEST(slurp(dir.path() / "logs" / "access.log").empty());

  // USR1 after an external rename: the buffered lines go to the renamed file.
  std::filesystem::rename(dir.path() / "logs" / "access.log", dir.path() / "logs" / "access.log.1");
  module().reopen_logs(worker);
  const std::string rotated = slurp(dir.path() / "logs" / "access.log.1");
  BOOST_TEST(rotated.starts_with("200 /short/x\n192.0.2.7 - - ["), rotated);
  BOOST_TEST(rotated.ends_with("] \"GET /short/x HTTP/1.1\" 200 5 \"-\" \"-\"\n"), rotated);

  module().log_exchange(req.get(), log, *shorter);
  module().exit_worker(worker);  // flushes
  BOOST_TEST(slurp(dir.path() / "logs" / "access.log") == "200 /short/x\n");
  BOOST_TEST(slurp(dir.path() / "logs" / "api.log").starts_with("{\"time\":\""));
  // After exit_worker the blocks are unbound again.
  module().log_exchange(req.get(), log, *shorter);
  worker.clear_states();
  BOOST_TEST(slurp(dir.path() / "logs" / "access.log") == "200 /short/x\n");
}

BOOST_AUTO_TEST_CASE(the_flush_timer_runs_in_the_worker_loop) {
  TempDir dir;
  const LoadResult r = load(dir.path());
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  EventLoop loop;
  WorkerContext worker(loop, *r.config, 0);
  module().init_worker(worker);
  const ModuleConfPtr& shorter = conf_at(r.config->servers.at(0).locations.at(2).modules);
  ExchangeLog log;
  log.status = 404;
  TestRequest req("GET", "/short/missing");
  loop.run_once(0);
  module().log_exchange(req.get(), log, *shorter);
  // access.log is shared by blocks flushing after 1s and 100ms: the file gets 100ms.
  const auto path = dir.path() / "logs" / "access.log";
  const auto start = Clock::now();
  while (slurp(path).empty() && Clock::now() - start < 2s) loop.run_once(20);
  BOOST_TEST(slurp(path) == "404 /short/missing\n");
  BOOST_TEST((Clock::now() - start < 900ms));
  module().exit_worker(worker);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
