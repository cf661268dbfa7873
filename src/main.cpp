// serverd's command line. Everything else lives in the library.
#include <fmt/core.h>
#include <getopt.h>
#include <llhttp.h>
#include <openssl/opensslv.h>
#include <spdlog/version.h>
#include <toml++/toml.h>
#include <zlib.h>

#include <boost/version.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "core/config_loader.hpp"
#include "core/log.hpp"
#include "modules/modules.hpp"
#include "process/control.hpp"
#include "process/listen_check.hpp"
#include "process/master.hpp"
#include "process/pid_file.hpp"
#include "process/proc_title.hpp"
#include "tls/tls_context.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/serverd/server.toml";

void usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: serverd [-c FILE] [-t | -T] [-s SIGNAL] [-v | -V] [-h]\n"
               "\n"
               "Options:\n"
               "  -c FILE    use this configuration file (default: %s)\n"
               "  -t         test the configuration and exit\n"
               "  -T         test the configuration, print the effective configuration, exit\n"
               "  -s SIGNAL  send SIGNAL to the running master: quit, stop, reopen, reload,\n"
               "             upgrade\n"
               "  -v         print the version and exit\n"
               "  -V         print the version, build information and library versions, exit\n"
               "  -h         print this help and exit\n",
               kDefaultConfig);
}

void print_version(bool verbose) {
  std::printf("serverd version: serverd/%s\n", SERVERD_VERSION);
  if (!verbose) return;
  std::printf("built by %s (%s build)\n", SERVERD_COMPILER, SERVERD_BUILD_TYPE);
  std::printf(
      "built with %s, llhttp %d.%d.%d, toml++ %d.%d.%d, spdlog %d.%d.%d, fmt %d, "
      "zlib %s, Boost %d.%d.%d\n",
      OPENSSL_VERSION_TEXT, LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH,
      TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR,
      SPDLOG_VER_PATCH, FMT_VERSION, ZLIB_VERSION, BOOST_VERSION / 100000,
      BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
}

int signal_master(const std::string& config_file, const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {{"quit", SIGQUIT},
                                                         {"stop", SIGTERM},
                                                         {"reopen", SIGUSR1},
                                                         {"reload", SIGHUP},
                                                         {"upgrade", SIGUSR2}};
  int signo = 0;
  for (auto [n, s] : kSignals)
    if (name == n) signo = s;
  if (signo == 0) {
    std::fprintf(stderr,
                 "serverd: invalid signal \"%s\" (use quit, stop, reopen, reload or "
                 "upgrade)\n",
                 name.c_str());
    return 2;
  }
  auto result = serverd::load_config_file(config_file, serverd::builtin_modules());
  const bool synchronous = signo == SIGHUP || signo == SIGUSR2;
  // An invalid config still names its master: for reload and upgrade that master is asked, so
  // the refusal is logged where the operator looks (the error log) as well as printed here.
  if (!result.config && (!synchronous || result.main.pid_file.empty())) {
    std::fprintf(stderr, "%s\n", result.errors.to_string().c_str());
    return 1;
  }
  std::string error;
  if (synchronous) {
    // Synchronous: the master answers once the new generation (or binary) serves, or why not.
    const auto& main = result.main;
    auto timeout = main.upgrade_timeout + main.shutdown_timeout + std::chrono::seconds(10);
    auto answer =
        serverd::send_control_command(serverd::control_socket_path(main.pid_file),
                                      signo == SIGHUP ? "reload" : "upgrade", timeout, &error);
    if (!answer) {
      if (!result.config) std::fprintf(stderr, "%s\n", result.errors.to_string().c_str());
      std::fprintf(stderr, "serverd: %s\n", error.c_str());
      return 1;
    }
    bool ok = answer->starts_with("ok");
    std::string text = answer->substr(std::min(answer->find(' '), answer->size()));
    if (!text.empty()) text.erase(0, 1);
    if (ok) {
      std::printf("serverd: %s succeeded (%s)\n", name.c_str(), text.c_str());
      return 0;
    }
    std::fprintf(stderr, "serverd: %s failed:\n%s\n", name.c_str(), text.c_str());
    return 1;
  }
  auto pid = serverd::read_pid_file(result.config->main.pid_file, &error);
  if (!pid) {
    std::fprintf(stderr, "serverd: %s\n", error.c_str());
    return 1;
  }
  if (::kill(*pid, signo) != 0) {
    std::fprintf(stderr, "serverd: kill(%d, %s) failed: %s (is serverd running?)\n", *pid,
                 name.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file = kDefaultConfig;
  bool test = false, dump = false;
  std::string signal_name;
  opterr = 0;
  int opt;
  while ((opt = ::getopt(argc, argv, ":c:tTs:vVh")) != -1) {
    switch (opt) {
      case 'c':
        config_file = optarg;
        break;
      case 't':
        test = true;
        break;
      case 'T':
        test = dump = true;
        break;
      case 's':
        signal_name = optarg;
        break;
      case 'v':
        print_version(false);
        return 0;
      case 'V':
        print_version(true);
        return 0;
      case 'h':
        usage(stdout);
        return 0;
      case ':':
        std::fprintf(stderr, "serverd: option -%c requires an argument\n", optopt);
        usage(stderr);
        return 2;
      default:
        std::fprintf(stderr, "serverd: unknown option -%c\n", optopt);
        usage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "serverd: unexpected argument \"%s\"\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if (!signal_name.empty()) return signal_master(config_file, signal_name);

  const auto& modules = serverd::builtin_modules();
  auto result = serverd::load_config_file(config_file, modules);
  serverd::build_tls_contexts(result);
  if (!result.config) {
    std::fprintf(stderr, "%s\n", result.errors.to_string().c_str());
    if (test)
      std::fprintf(stderr, "serverd: configuration file %s test failed\n", config_file.c_str());
    return 1;
  }
  if (test) {
    // As nginx's -t: a listen address another process holds would fail the start.
    if (auto in_use = serverd::check_listen_addresses(*result.config); !in_use.empty()) {
      std::fprintf(stderr, "%s\nserverd: configuration file %s test failed\n",
                   in_use.to_string().c_str(), config_file.c_str());
      return 1;
    }
    if (dump) std::printf("%s", serverd::dump_config(*result.config, modules).c_str());
    std::fprintf(stderr, "serverd: configuration file %s test is successful\n",
                 config_file.c_str());
    return 0;
  }
  serverd::init_stderr_logging();
  std::signal(SIGPIPE, SIG_IGN);
  serverd::MasterOptions options;
  options.config_path = config_file;
  options.args.assign(argv, argv + argc);  // before the title overwrites them
  serverd::ProcessTitle title(argc, argv);
  options.title = &title;
  try {
    serverd::Master master(result.config, modules, std::move(options));
    return master.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serverd: %s\n", e.what());
    return 1;
  }
}
