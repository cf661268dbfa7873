// The command line: -t / -T / -v / -V / -h, usage errors and config errors with FILE:LINE:COL.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "harness/checks.hpp"
#include "harness/ports.hpp"
#include "harness/process_runner.hpp"
#include "harness/temp_dir.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
namespace utf = boost::unit_test;

namespace {

int count_lines_containing(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  for (int i = 0; i < 100000 && std::getline(in, line); ++i) {
    if (it::contains(line, needle)) ++n;
  }
  return n;
}

std::string line_containing(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int i = 0; i < 100000 && std::getline(in, line); ++i) {
    if (it::contains(line, needle)) return line;
  }
  return {};
}

std::string good_config() {
  return it::simple_config("",
                           "  [[server.location]]\n"
                           "  path = \"/hi\"\n"
                           "  return = { status = 200, body = \"hi\\n\" }\n");
}

// Line numbers matter: the test asserts them.
const char* const kBadConfig =
    "[[server]]\n"                                  // 1
    "listen = [\"127.0.0.1:{PORT}\"]\n"             // 2
    "listn = [\"127.0.0.1:{PORT}\"]\n"              // 3  unknown key at column 1
    "server_name = [\"localhost\"]\n"               // 4
    "client_header_timeout = \"fast\"\n"            // 5  bad duration: value at column 25
    "  [[server.location]]\n"                       // 6
    "  path = \"/\"\n"                              // 7
    "  roott = \"html\"\n"                          // 8  unknown key at column 3
    "  return = { status = 200, body = \"x\" }\n";  // 9

boost::test_tools::assertion_result default_config_exists(utf::test_unit_id) {
  boost::test_tools::assertion_result r(
      std::filesystem::exists(std::string(SERVERD_SOURCE_DIR) + "/conf/server.toml"));
  r.message() << "conf/server.toml does not exist yet";
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(test_flag_accepts_a_valid_config) {
  it::TempDir dir;
  dir.write("html/index.html", "index\n");
  const auto path =
      dir.write("good.toml", it::substitute_port(good_config(), it::pick_free_port()));
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST_CONTEXT("output: " << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(count_lines_containing(
                   r.output(), "configuration file " + path.string() + " test is successful") == 1);
    // -t only checks: nothing is started, nothing written next to the config.
    BOOST_TEST(!std::filesystem::exists(dir / "serverd.pid"));
  }
}

BOOST_AUTO_TEST_CASE(test_flag_reports_every_error_with_file_line_col) {
  it::TempDir dir;
  const auto path = dir.write("bad.toml", it::substitute_port(kBadConfig, it::pick_free_port()));
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  const std::string out = r.output();
  BOOST_TEST_CONTEXT("output: " << out) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.term_signal == 0);
    BOOST_TEST(r.exit_code != 0);
    const std::string p = path.string();
    BOOST_TEST(it::contains(out, p + ":3:1: unknown key \"listn\""));
    BOOST_TEST(it::contains(out, p + ":5:25: "));
    BOOST_TEST(it::contains(out, p + ":8:3: unknown key \"roott\""));
    // "did you mean" hints name the real keys.
    BOOST_TEST(it::contains(line_containing(out, p + ":3:1: "), "listen"));
    std::string roott_line = line_containing(out, p + ":8:3: ");
    for (std::size_t pos = 0; (pos = roott_line.find("roott")) != std::string::npos;) {
      roott_line.erase(pos, 5);
    }
    BOOST_TEST(it::contains(roott_line, "root"));
    BOOST_TEST(!it::contains(out, "test is successful"));
  }
}

BOOST_AUTO_TEST_CASE(bad_config_refuses_to_start) {
  it::TempDir dir;
  const auto path = dir.write("bad.toml", it::substitute_port(kBadConfig, it::pick_free_port()));
  const auto r = it::run_serverd({"-c", path.string()}, std::chrono::seconds(5));
  BOOST_TEST_CONTEXT("output: " << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(it::contains(r.output(), path.string() + ":3:1: unknown key \"listn\""));
  }
}

BOOST_AUTO_TEST_CASE(test_flag_accepts_the_shipped_config,
                     *utf::precondition(default_config_exists)) {
  const std::string path = std::string(SERVERD_SOURCE_DIR) + "/conf/server.toml";
  const auto r = it::run_serverd({"-t", "-c", path});
  BOOST_TEST_CONTEXT("output: " << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(it::contains(r.output(), "test is successful"));
  }
}

BOOST_AUTO_TEST_CASE(dump_flag_prints_effective_config_with_defaults) {
  it::TempDir dir;
  dir.write("html/index.html", "index\n");
  const int port = it::pick_free_port();
  const auto path = dir.write("good.toml", it::substitute_port(good_config(), port));
  const auto r = it::run_serverd({"-T", "-c", path.string()});
  BOOST_TEST_CONTEXT("output: " << r.output()) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(it::contains(r.out, "keepalive_timeout = \"75s\""));
    BOOST_TEST(it::contains(r.out, "client_header_timeout = \"1m\""));
    BOOST_TEST(it::contains(r.out, "keepalive_requests = 1000"));
    BOOST_TEST(it::contains(r.out, "127.0.0.1:" + std::to_string(port)));
    BOOST_TEST(it::contains(r.out, "hi\\n"));
  }

  // What -T prints is itself a valid config.
  const auto dumped = dir.write("dumped.toml", r.out);
  const auto again = it::run_serverd({"-t", "-c", dumped.string()});
  BOOST_TEST_CONTEXT("dumped config check: " << again.output()) {
    BOOST_TEST(again.exit_code == 0);
  }
}

BOOST_AUTO_TEST_CASE(version_flags) {
  const auto v = it::run_serverd({"-v"});
  BOOST_TEST_CONTEXT("-v output: " << v.output()) {
    BOOST_TEST(v.exit_code == 0);
    BOOST_TEST(it::contains(v.output(), "serverd version"));
  }

  const auto big_v = it::run_serverd({"-V"});
  BOOST_TEST_CONTEXT("-V output: " << big_v.output()) {
    BOOST_TEST(big_v.exit_code == 0);
    BOOST_TEST(it::contains(big_v.output(), "serverd version"));
    BOOST_TEST(it::contains(big_v.output(), "built with"));
    BOOST_TEST(it::contains(big_v.output(), "OpenSSL"));
  }
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  const auto r = it::run_serverd({"-h"});
  BOOST_TEST_CONTEXT("-h output: " << r.output()) {
    BOOST_TEST(r.exit_code == 0);
    for (const char* opt : {"-c", "-t", "-T", "-v", "-V", "-h", "-s"}) {
      const std::regex re(std::string("(^|[\\s\\[|,])") + opt + "\\b");
      BOOST_TEST(std::regex_search(r.output(), re), "usage lists " << opt);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_option_prints_usage_and_exits_2) {
  const auto r = it::run_serverd({"-Z"});
  BOOST_TEST_CONTEXT("stdout: " << r.out << "\nstderr: " << r.err) {
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(it::contains(r.err, "-c"));
    BOOST_TEST(std::regex_search(r.err, std::regex("usage", std::regex::icase)));
  }
}

BOOST_AUTO_TEST_CASE(missing_config_file_is_named) {
  it::TempDir dir;
  const std::string path = (dir / "nope.toml").string();
  const auto t = it::run_serverd({"-t", "-c", path});
  BOOST_TEST_CONTEXT("-t output: " << t.output()) {
    BOOST_TEST(!t.timed_out);
    BOOST_TEST(t.exit_code != 0);
    BOOST_TEST(it::contains(t.output(), path));
  }

  const auto run = it::run_serverd({"-c", path}, std::chrono::seconds(5));
  BOOST_TEST_CONTEXT("run output: " << run.output()) {
    BOOST_TEST(!run.timed_out);
    BOOST_TEST(run.exit_code != 0);
    BOOST_TEST(it::contains(run.output(), path));
  }
}

BOOST_AUTO_TEST_SUITE_END()
