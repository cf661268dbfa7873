#include "process/pid_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace serverd {

PidFile::PidFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_.reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd_)
    throw std::runtime_error("cannot open pid file \"" + path_.string() +
                             "\": " + std::strerror(errno));
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd_.get(), F_SETLK, &lock) != 0) {
    std::string holder;
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    if (::fcntl(fd_.get(), F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK)
      holder = " (pid " + std::to_string(probe.l_pid) + ")";
    throw std::runtime_error("another serverd" + holder + " is running with pid file \"" +
                             path_.string() + "\"");
  }
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) != 0 ||
      ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot write pid file \"" + path_.string() +
                             "\": " + std::strerror(errno));
}

bool PidFile::rename_to(const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::rename(path_, to, ec);
  if (ec) return false;
  path_ = to;
  return true;
}

PidFile::~PidFile() {
  // Only the process that wrote it removes it (a forked child inherits no fcntl lock).
  std::string error;
  auto pid = read_pid_file(path_, &error);
  if (pid && *pid == ::getpid()) ::unlink(path_.c_str());
}

std::optional<pid_t> read_pid_file(const std::filesystem::path& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open pid file \"" + path.string() + "\": " + std::strerror(errno) +
             " (is serverd running?)";
    return std::nullopt;
  }
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    *error = "pid file \"" + path.string() + "\" does not contain a pid";
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

}  // namespace serverd
