#include "reload_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ports.hpp"
#include "process_runner.hpp"
#include "test_server.hpp"

namespace serverd::itest {
namespace {

using Clock = std::chrono::steady_clock;

int open_output(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

// State letter from /proc/PID/stat, 0 when the process does not exist.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 1'000'000; ++i) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return false;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

std::optional<pid_t> read_pid(const std::filesystem::path& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!in || !(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool process_gone(pid_t pid) {
  const char state = process_state(pid);
  return state == 0 || state == 'Z' || state == 'X';
}

std::string process_title(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text;
  if (!in || !std::getline(in, text, '\0')) return {};
  return text;
}

std::vector<pid_t> children_titled(pid_t parent, std::string_view prefix) {
  std::vector<pid_t> out;
  auto children = child_pids(parent);
  if (!children) return out;
  for (pid_t c : *children) {
    if (process_gone(c)) continue;
    if (process_title(c).starts_with(prefix)) out.push_back(c);
  }
  return out;
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

std::string return_config(const ReturnConfig& c) {
  std::ostringstream out;
  out << "[main]\n"
      << "pid_file = \"serverd.pid\"\n"
      << "worker_processes = " << c.workers << "\n"
      << c.main_extra << "\n"
      << "[log]\n"
      << "error_log = \"error.log\"\n"
      << "level = \"info\"\n\n"
      << "[[server]]\n"
      << "listen = [";
  for (std::size_t i = 0; i < c.listen.size(); ++i)
    out << (i ? ", " : "") << toml_string(c.listen[i]);
  out << "]\n"
      << "server_name = [\"localhost\"]\n"
      << c.server_extra << "\n"
      << c.locations << "\n"
      << "  [[server.location]]\n"
      << "  path = \"/\"\n"
      << "  return = { status = 200, body = " << toml_string(c.body) << " }\n";
  return out.str();
}

UpgradableServer::UpgradableServer(const std::string& config_template, const Populate& populate,
                                   std::filesystem::path binary) {
  if (binary.empty()) binary = SERVERD_BINARY;
  if (binary.is_relative()) binary = dir_.path() / binary;
  if (populate) populate(dir_);
  port_ = pick_free_port();
  dir_.write("serverd.toml", substitute_port(config_template, port_));
  std::filesystem::create_directories(dir_ / "cwd");
  const int out = open_output(dir_ / "stdout.log");
  const int err = open_output(dir_ / "stderr.log");
  SpawnOptions opts;
  opts.cwd = dir_ / "cwd";
  opts.stdout_fd = out;
  opts.stderr_fd = err;
  try {
    pid_ = spawn_process({binary.string(), "-c", config_path().string()}, opts);
  } catch (...) {
    ::close(out);
    ::close(err);
    throw;
  }
  ::close(out);
  ::close(err);
  const bool up = wait_until(
      [&] { return original_exited() || port_accepts(port_, std::chrono::milliseconds(200)); },
      std::chrono::seconds(5));
  if (!up || original_exited())
    throw std::runtime_error("serverd (" + binary.string() + ") did not start listening on port " +
                             std::to_string(port_) + "\n" + diagnostics());
  // The port opens before every worker is up, and the master refuses a binary upgrade until
  // it has announced that it is ready: upgrade tests start from a ready server.
  const bool ready = wait_until(
      [&] { return original_exited() || error_log().find("serverd ready") != std::string::npos; },
      std::chrono::seconds(10));
  if (!ready || original_exited())
    throw std::runtime_error("serverd (" + binary.string() + ") did not become ready\n" +
                             diagnostics());
}

bool UpgradableServer::original_exited() {
  if (status_) return true;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return true;
  }
  return r < 0;
}

bool UpgradableServer::wait_original_exit(std::chrono::milliseconds timeout) {
  return wait_until([&] { return original_exited(); }, timeout, std::chrono::milliseconds(5));
}

UpgradableServer::~UpgradableServer() {
  // Whoever is the master now (the pid file), and the original one if it is still there.
  std::vector<pid_t> masters;
  if (auto p = read_pid(pid_path()); p && *p > 1 && ::getpgid(*p) == pid_) masters.push_back(*p);
  if (auto p = read_pid(dir_ / "serverd.pid.oldbin"); p && *p > 1 && ::getpgid(*p) == pid_)
    masters.push_back(*p);
  if (!original_exited()) masters.push_back(pid_);
  for (pid_t m : masters) ::kill(m, SIGTERM);
  wait_until(
      [&] {
        original_exited();
        for (pid_t m : masters)
          if (m != pid_ && !process_gone(m)) return false;
        return status_.has_value();
      },
      std::chrono::seconds(3));
  wait_until([&] { return live_group_members(pid_).empty(); }, std::chrono::seconds(2));
  if (!live_group_members(pid_).empty()) ::kill(-pid_, SIGKILL);
  if (!original_exited()) {
    ::kill(pid_, SIGKILL);
    wait_original_exit(std::chrono::seconds(3));
  }
}

std::string UpgradableServer::diagnostics() const {
  std::string d = "--- config ---\n" + read_file(config_path());
  d += "--- stdout ---\n" + read_file(dir_ / "stdout.log");
  d += "--- stderr ---\n" + read_file(dir_ / "stderr.log");
  d += "--- error.log ---\n" + error_log();
  return d;
}

}  // namespace serverd::itest
