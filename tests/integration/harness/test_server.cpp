#include "test_server.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <thread>

#include "ports.hpp"

namespace serverd::itest {

std::string config_prelude() {
  return "[main]\n"
         "pid_file = \"serverd.pid\"\n"
         "\n"
         "[log]\n"
         "error_log = \"error.log\"\n"
         "level = \"info\"\n"
         "\n";
}

std::string simple_config(std::string_view server_lines, std::string_view locations) {
  std::string c = config_prelude();
  c += "[[server]]\n"
       "listen = [\"127.0.0.1:{PORT}\"]\n"
       "server_name = [\"localhost\"]\n";
  c += server_lines;
  c += "\n";
  c += locations;
  c += "\n"
       "  [[server.location]]\n"
       "  path = \"/\"\n"
       "  root = \"html\"\n";
  return c;
}

std::string substitute_port(std::string_view text, int port) {
  std::string out(text);
  const std::string needle = "{PORT}";
  const std::string value = std::to_string(port);
  for (std::size_t pos = 0, i = 0; i < 10000; ++i) {
    pos = out.find(needle, pos);
    if (pos == std::string::npos) break;
    out.replace(pos, needle.size(), value);
    pos += value.size();
  }
  return out;
}

TestServer::TestServer(const std::string& config_template, const Populate& populate) {
  if (populate) populate(dir_);
  std::string last_failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = pick_free_port();
    dir_.write("serverd.toml", substitute_port(config_template, port_));
    process_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"-c", config_path().string()}, dir_.path());
    if (process_->wait_for_port(port_, std::chrono::seconds(5))) {
      // The port opens a moment before the control socket: `serverd -s` must find it at once.
      const auto control = dir_ / "serverd.pid.ctl";
      for (int i = 0; i < 250 && process_->alive() && !std::filesystem::exists(control); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return;
    }
    const bool exited = !process_->alive();
    last_failure = diagnostics();
    process_->stop();
    // Only a lost race for the port is worth another attempt.
    if (!exited || last_failure.find("in use") == std::string::npos) break;
  }
  throw std::runtime_error("serverd did not start listening on 127.0.0.1:" + std::to_string(port_) +
                           " within 5 s\n" + last_failure);
}

TestServer::~TestServer() {
  if (!process_) return;
  const bool was_alive = process_->alive();
  const StopResult r = process_->stop();
  if (!expect_clean_exit_) return;
  // BOOST_TEST never throws: safe in a destructor, and reported against the running test.
  BOOST_TEST(was_alive, "serverd had already exited before the end of the test");
  BOOST_TEST(r.term_signal == 0, "serverd died of signal " << r.term_signal << " at TERM");
  BOOST_TEST(!r.killed, "serverd ignored TERM for 2 s");
  BOOST_TEST(!r.group_leftovers, "serverd left processes behind after TERM");
}

Response TestServer::fetch(std::string_view request, const ReadOptions& options) const {
  return itest::fetch(port_, request, options);
}

Response TestServer::get(std::string_view target, std::string_view host) const {
  return fetch(get_request(target, host));
}

bool TestServer::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 10000; ++i) {
    if (error_log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string TestServer::diagnostics() const {
  std::string d = "--- config ---\n" + read_file(config_path());
  if (process_) {
    d += "--- stdout ---\n" + process_->stdout_text();
    d += "--- stderr ---\n" + process_->stderr_text();
  }
  d += "--- error.log ---\n" + error_log();
  return d;
}

std::string pseudo_random_bytes(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed == 0 ? 0x9e3779b9U : seed;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;  // xorshift32
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xffU);
  }
  return out;
}

}  // namespace serverd::itest
