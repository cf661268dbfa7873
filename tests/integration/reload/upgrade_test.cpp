// Binary upgrade (USR2 / `serverd -s upgrade`): the master re-executes its binary with the
// listening sockets inherited; once the new master serves, the old one drains and exits. When
// the new binary never becomes ready, or dies, the old master kills it and keeps serving.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <future>
#include <regex>
#include <string>
#include <thread>

#include "../harness/checks.hpp"
#include "../harness/load_driver.hpp"
#include "../harness/process_runner.hpp"
#include "../harness/reload_support.hpp"
#include "../harness/test_server.hpp"

namespace fs = std::filesystem;
namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const std::string kBody = "served across upgrades\n";
const std::string kMasterTitle = "serverd: master process";

std::string upgrade_config(const std::string& main_extra = "") {
  it::ReturnConfig c;
  c.body = kBody;
  c.workers = 2;
  c.main_extra = "shutdown_timeout = \"10s\"\n" + main_extra;
  c.server_extra = "keepalive_requests = 1000000\n";
  return it::return_config(c);
}

it::CommandResult upgrade_command(const it::UpgradableServer& server) {
  return it::run_serverd({"-s", "upgrade", "-c", server.config_path().string()}, 20s);
}

fs::path oldbin(const it::UpgradableServer& server) {
  return server.pid_path().string() + ".oldbin";
}

// The new master is serving on its own: the old one has exited, the pid file names a live
// master process other than it, and no .oldbin is left.
void check_upgraded(it::UpgradableServer& server) {
  const pid_t old_pid = server.original_pid();
  BOOST_TEST(server.wait_original_exit(10s), "the old master did not exit within 10 s");
  if (auto st = server.original_status())
    BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 0), "old master wait status " << *st);
  const auto pid = it::read_pid(server.pid_path());
  BOOST_REQUIRE(pid.has_value());
  BOOST_TEST(*pid != old_pid);
  BOOST_TEST(!it::process_gone(*pid));
  BOOST_TEST(it::process_title(*pid).starts_with(kMasterTitle), it::process_title(*pid));
  BOOST_TEST(!fs::exists(oldbin(server)));
  BOOST_TEST(it::fetch(server.port(), it::get_request("/")).body == kBody);
}

// Installs `script` as the server's binary the way a package manager replaces a file: a new
// file renamed over the old one (the running master's /proc/self/exe becomes "(deleted)").
void replace_binary(const it::UpgradableServer& server, const std::string& script) {
  const fs::path bin = server.dir() / "bin" / "serverd";
  const fs::path tmp = server.dir() / "bin" / "serverd.new";
  server.dir().write("bin/serverd.new", script);
  fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::rename(tmp, bin);
}

void copy_binary(const it::TempDir& d) {
  d.mkdir("bin");
  fs::copy_file(SERVERD_BINARY, d / "bin" / "serverd", fs::copy_options::overwrite_existing);
}

std::optional<pid_t> started_pid(const std::string& log) {
  static const std::regex re(R"(binary upgrade: started .* \(pid ([0-9]+)\))");
  std::smatch m;
  if (!std::regex_search(log, m, re)) return std::nullopt;
  return static_cast<pid_t>(std::stol(m[1].str()));
}

// Rollback checks shared by the failing-binary cases.
void check_rolled_back(it::UpgradableServer& server, const it::CommandResult& r,
                       std::chrono::milliseconds took, std::chrono::milliseconds limit,
                       const std::string& reason) {
  BOOST_TEST_CONTEXT("serverd -s upgrade said: " << r.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(took.count() < limit.count(), "-s upgrade took " << took.count() << " ms");
    BOOST_TEST(it::contains(r.output(), reason));
    BOOST_TEST(it::contains(r.output(), "rolled back"));
    BOOST_TEST(!server.original_exited(), "the old master is gone");
    BOOST_TEST(it::read_pid(server.pid_path()).value_or(-1) == server.original_pid());
    BOOST_TEST(!fs::exists(oldbin(server)));
    BOOST_TEST(it::fetch(server.port(), it::get_request("/")).body == kBody);
    BOOST_TEST(server.error_log().find("binary upgrade failed") != std::string::npos);
    BOOST_TEST(it::contains(server.error_log(), "rolled back, still serving"));
    const auto pid = started_pid(server.error_log());
    BOOST_TEST(pid.has_value(), "the log does not name the new master's pid");
    if (pid)
      BOOST_TEST(it::wait_until([&] { return it::process_gone(*pid); }, 3s),
                 "the failed new master (pid " << *pid << ") is still running");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binary_upgrade)

BOOST_AUTO_TEST_CASE(usr2_under_keep_alive_load_zero_failures) {
  it::UpgradableServer server(upgrade_config());
  it::LoadOptions options;
  options.port = server.port();
  options.connections = 64;
  options.keep_alive = true;
  options.duration = 30s;
  it::LoadDriver load(options);
  BOOST_REQUIRE_MESSAGE(load.wait_for_successes(200, 10s), load.snapshot().summary());

  ::kill(server.original_pid(), SIGUSR2);
  BOOST_TEST_CONTEXT(server.diagnostics()) {
    check_upgraded(server);
  }
  load.set_phase(1);
  const auto before = load.snapshot().successes;
  BOOST_TEST(load.wait_for_successes(before + 500, 10s));
  const it::LoadStats stats = load.stop();
  BOOST_TEST_MESSAGE("USR2 under load: " << stats.summary());
  BOOST_TEST_CONTEXT(stats.summary() << server.diagnostics()) {
    BOOST_TEST(stats.failures == 0U);
    BOOST_TEST(stats.successes_in(1) > 0U);
    BOOST_TEST(stats.count_other(0, kBody) + stats.count_other(1, kBody) == 0U);
    BOOST_TEST(stats.connection_close > 0U, "no keep-alive connection was drained");
  }
}

BOOST_AUTO_TEST_CASE(upgrade_command_prints_the_new_master_pid) {
  it::UpgradableServer server(upgrade_config());
  const it::CommandResult r = upgrade_command(server);
  BOOST_TEST_CONTEXT("serverd -s upgrade said: " << r.output() << "\n" << server.diagnostics()) {
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(it::contains(r.out, "upgrade succeeded"));
    static const std::regex pid_re(R"(pid ([0-9]+))");
    std::smatch m;
    BOOST_REQUIRE(std::regex_search(r.out, m, pid_re));
    const auto printed = static_cast<pid_t>(std::stol(m[1].str()));
    BOOST_TEST(printed != server.original_pid());
    // Synchronous: when the command returns, the new master is the one in the pid file.
    BOOST_TEST(it::read_pid(server.pid_path()).value_or(-1) == printed);
    check_upgraded(server);
  }
}

BOOST_AUTO_TEST_CASE(new_binary_never_ready_is_killed_and_rolled_back) {
  it::UpgradableServer server(upgrade_config("upgrade_timeout = \"1s\"\n"), copy_binary,
                              "bin/serverd");
  replace_binary(server, "#!/bin/sh\nexec sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  auto command = std::async(std::launch::async, [&] { return upgrade_command(server); });
  // While the new binary is on trial the pid file is <pid_file>.oldbin.
  const bool moved = it::wait_until([&] { return fs::exists(oldbin(server)); }, 900ms, 5ms);
  const it::CommandResult r = command.get();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  BOOST_TEST(moved, "the pid file was never renamed to .oldbin");
  check_rolled_back(server, r, took, 3500ms, "upgrade_timeout");
  // The master still takes commands after the rollback.
  const it::CommandResult reload =
      it::run_serverd({"-s", "reload", "-c", server.config_path().string()}, 20s);
  BOOST_TEST(reload.exit_code == 0, reload.output());
}

BOOST_AUTO_TEST_CASE(new_binary_that_exits_is_rolled_back_with_its_exit_status) {
  it::UpgradableServer server(upgrade_config("upgrade_timeout = \"5s\"\n"), copy_binary,
                              "bin/serverd");
  replace_binary(server, "#!/bin/sh\nexit 3\n");
  const auto start = std::chrono::steady_clock::now();
  const it::CommandResult r = upgrade_command(server);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  // Well before upgrade_timeout: the exit itself is the verdict.
  check_rolled_back(server, r, took, 3000ms, "exited with status 3");
}

BOOST_AUTO_TEST_SUITE_END()
