#pragma once
// Helpers for the reload and binary-upgrade tests: configs serving a fixed body from a `return`
// location, atomic config swaps, pid files, process inspection through /proc, and a server
// started from an arbitrary binary that may re-execute itself (the master pid changes).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.hpp"

namespace serverd::itest {

// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// Writes a sibling temporary file and renames it over `path`: a reader (the master re-reading
// its config on HUP) sees the old or the new content, never a half-written file.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The pid in a pid file, if it exists and holds one.
std::optional<pid_t> read_pid(const std::filesystem::path& pid_file);
// True when `pid` does not exist any more or is a zombie (it has exited).
bool process_gone(pid_t pid);
// /proc/PID/cmdline up to its first NUL (serverd's process title), "" when unavailable.
std::string process_title(pid_t pid);
// Children of `parent` whose title starts with `prefix` (e.g. "serverd: worker process").
std::vector<pid_t> children_titled(pid_t parent, std::string_view prefix);
std::size_t count_occurrences(std::string_view text, std::string_view needle);

// A config whose every request is answered `200 body` by a `return` location.
struct ReturnConfig {
  std::vector<std::string> listen{"127.0.0.1:{PORT}"};
  std::string body = "hello\n";
  int workers = 2;
  std::string main_extra;    // more lines for [main]
  std::string server_extra;  // more lines for [[server]]
  std::string locations;     // more [[server.location]] tables, before the catch-all "/"
};
std::string return_config(const ReturnConfig& c);
// A TOML basic string (quotes included) holding `text`.
std::string toml_string(std::string_view text);

// serverd started from `binary` with DIR/serverd.toml (in its own process group, stdout and
// stderr to DIR/stdout.log and DIR/stderr.log). Binary upgrades replace the master: the current
// one is the pid in DIR/serverd.pid. The destructor stops whichever masters are alive (TERM,
// then KILL) and kills anything left in the process group.
class UpgradableServer {
 public:
  using Populate = std::function<void(const TempDir&)>;
  // Writes the config ({PORT} substituted with a free port) after `populate` ran, starts the
  // binary (SERVERD_BINARY when empty; a relative path is taken in dir()) and waits (<= 5 s)
  // until the port accepts; throws with the server's output otherwise.
  UpgradableServer(const std::string& config_template, const Populate& populate = nullptr,
                   std::filesystem::path binary = {});
  ~UpgradableServer();
  UpgradableServer(const UpgradableServer&) = delete;
  UpgradableServer& operator=(const UpgradableServer&) = delete;

  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  std::filesystem::path config_path() const { return dir_ / "serverd.toml"; }
  std::filesystem::path pid_path() const { return dir_ / "serverd.pid"; }
  pid_t original_pid() const { return pid_; }
  // The original master (our child) has exited and was reaped here.
  bool original_exited();
  bool wait_original_exit(std::chrono::milliseconds timeout);
  std::optional<int> original_status() const { return status_; }

  std::string error_log() const { return read_file(dir_ / "error.log"); }
  std::string diagnostics() const;

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace serverd::itest
