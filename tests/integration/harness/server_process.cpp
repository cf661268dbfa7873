#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "ports.hpp"
#include "process_runner.hpp"
#include "temp_dir.hpp"

namespace serverd::itest {
namespace {

using Clock = std::chrono::steady_clock;

int open_output(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

ServerProcess::ServerProcess(const std::vector<std::string>& args,
                             const std::filesystem::path& output_dir)
    : out_path_(output_dir / "stdout.log"), err_path_(output_dir / "stderr.log") {
  std::vector<std::string> argv{SERVERD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::filesystem::path cwd = output_dir / "cwd";
  std::filesystem::create_directories(cwd);
  const int out = open_output(out_path_);
  const int err = open_output(err_path_);
  SpawnOptions opts;
  opts.cwd = cwd;
  opts.stdout_fd = out;
  opts.stderr_fd = err;
  try {
    pid_ = spawn_process(argv, opts);
  } catch (...) {
    ::close(out);
    ::close(err);
    throw;
  }
  ::close(out);
  ::close(err);
}

ServerProcess::~ServerProcess() {
  try {
    stop();
  } catch (...) {  // a destructor must not throw; stop() only throws on allocation failure
  }
}

void ServerProcess::reap(int status) {
  status_ = status;
}

bool ServerProcess::alive() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return r == 0;
}

bool ServerProcess::wait_for_port(int port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 10000; ++i) {
    if (!alive()) return false;
    if (port_accepts(port, std::chrono::milliseconds(200))) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return true;
  if (auto st = wait_for_exit(pid_, timeout)) {
    reap(*st);
    return true;
  }
  return false;
}

void ServerProcess::send_signal(int sig) const {
  if (!status_) ::kill(pid_, sig);
}

StopResult ServerProcess::stop(std::chrono::milliseconds grace) {
  if (stopped_ || pid_ <= 0) return stop_result_;
  stopped_ = true;
  StopResult r;
  if (alive()) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(grace)) {
      r.killed = true;
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
  }
  // Workers/agent should have gone with the master; give them a moment, then KILL the group.
  const auto deadline = Clock::now() + grace;
  for (int i = 0; i < 1000 && !live_group_members(pid_).empty(); ++i) {
    if (Clock::now() >= deadline) {
      r.group_leftovers = true;
      ::kill(-pid_, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (status_) {
    r.exited = true;
    if (WIFEXITED(*status_)) r.exit_code = WEXITSTATUS(*status_);
    if (WIFSIGNALED(*status_)) r.term_signal = WTERMSIG(*status_);
  }
  stop_result_ = r;
  return r;
}

std::string ServerProcess::stdout_text() const {
  return read_file(out_path_);
}
std::string ServerProcess::stderr_text() const {
  return read_file(err_path_);
}

}  // namespace serverd::itest
