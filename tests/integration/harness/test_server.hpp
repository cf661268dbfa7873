#pragma once
// A serverd instance for one test: a temp dir, a free port, a generated config and the running
// process (stopped, and the temp dir removed, when the object goes away).
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

namespace serverd::itest {

// [main] + [log] sections every test config starts with: pid file and error log (at info
// level) in the config's directory.
std::string config_prelude();

// A one-server config on {PORT} serving html/ from "/" with the given extra server-level
// lines (e.g. limits) and extra [[server.location]] tables appended.
std::string simple_config(std::string_view server_lines = "", std::string_view locations = "");

// Replaces every "{PORT}" in `text` with `port`.
std::string substitute_port(std::string_view text, int port);

class TestServer {
 public:
  using Populate = std::function<void(const TempDir&)>;
  // Writes `config_template` ({PORT} substituted) to DIR/serverd.toml after `populate` has
  // created any content files, starts `serverd -c DIR/serverd.toml` and waits (<= 5 s) until
  // the port accepts connections. Retries with another port when the chosen one was taken
  // meanwhile. Throws std::runtime_error (with the server's output) when it does not start.
  explicit TestServer(const std::string& config_template, const Populate& populate = nullptr);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  std::filesystem::path config_path() const { return dir_ / "serverd.toml"; }
  ServerProcess& process() { return *process_; }
  // By default the destructor stops the server and checks (BOOST_TEST) that TERM made it exit
  // without a crash and without leaving processes behind. Tests that kill it on purpose turn
  // this off.
  void expect_clean_exit(bool on) { expect_clean_exit_ = on; }

  HttpConnection connect() const { return HttpConnection::connect(port_); }
  // One request on a fresh connection.
  Response fetch(std::string_view request, const ReadOptions& options = {}) const;
  Response get(std::string_view target, std::string_view host = "localhost") const;

  std::string error_log() const { return read_file(dir_ / "error.log"); }
  // Polls the error log (bounded) until it contains `needle`.
  bool wait_for_log(std::string_view needle,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;
  // Everything the server said (stdout, stderr, error log), for failure messages.
  std::string diagnostics() const;

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ServerProcess> process_;
  bool expect_clean_exit_ = true;
};

// Deterministic pseudo-random bytes (all 256 values occur).
std::string pseudo_random_bytes(std::size_t size, std::uint32_t seed);

}  // namespace serverd::itest
