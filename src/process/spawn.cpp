#include "process/spawn.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace serverd {

namespace {
void close_fds_except(const std::vector<int>& keep) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return;
  std::vector<int> to_close;
  int dir_fd = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == dir_fd) continue;
    if (std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
    to_close.push_back(fd);
  }
  ::closedir(dir);
  for (int fd : to_close) ::close(fd);
}
}  // namespace

pid_t spawn_process(const std::vector<int>& keep, const std::function<int()>& body) {
  spdlog::default_logger()->flush();  // or the child would write the parent's buffered lines again
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) return pid;
  close_fds_except(keep);
  int code = 1;
  try {
    code = body();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    code = 1;
  } catch (...) {
    code = 1;
  }
  spdlog::default_logger()->flush();
  ::_exit(code);
}

void drop_privileges(const std::string& user) {
  if (user.empty() || ::geteuid() != 0) return;
  errno = 0;
  passwd* pw = ::getpwnam(user.c_str());
  if (!pw) throw std::runtime_error("user \"" + user + "\" does not exist");
  if (::initgroups(pw->pw_name, pw->pw_gid) != 0)
    throw std::system_error(errno, std::generic_category(), "initgroups(" + user + ")");
  if (::setgid(pw->pw_gid) != 0)
    throw std::system_error(errno, std::generic_category(), "setgid(" + user + ")");
  if (::setuid(pw->pw_uid) != 0)
    throw std::system_error(errno, std::generic_category(), "setuid(" + user + ")");
}

void apply_worker_limits(const MainConfig& main, int slot) {
  if (main.worker_rlimit_nofile) {
    rlimit rl{static_cast<rlim_t>(*main.worker_rlimit_nofile),
              static_cast<rlim_t>(*main.worker_rlimit_nofile)};
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0)
      spdlog::error("setrlimit(RLIMIT_NOFILE, {}) failed: {}", *main.worker_rlimit_nofile,
                    std::strerror(errno));
  }
  if (main.worker_cpu_affinity) {
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<int>(slot % cpus), &set);
      if (::sched_setaffinity(0, sizeof set, &set) != 0)
        spdlog::error("sched_setaffinity(cpu {}) failed: {}", slot % cpus, std::strerror(errno));
    }
  }
}

void daemonize() {
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) ::_exit(0);
  if (::setsid() < 0) throw std::system_error(errno, std::generic_category(), "setsid");
  pid = ::fork();  // no longer a session leader: can never reacquire a terminal
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) ::_exit(0);
  ::umask(022);
}

void redirect_stdio_to_null() {
  int fd = ::open("/dev/null", O_RDWR);
  if (fd < 0) return;
  ::dup2(fd, 0);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  if (fd > 2) ::close(fd);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::sigabbrev_np(sig);
    std::string s = "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
    if (WCOREDUMP(status)) s += ", core dumped";
    return s;
  }
  return "stopped (status " + std::to_string(status) + ")";
}

}  // namespace serverd
