#pragma once
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "core/unique_fd.hpp"

namespace serverd {

// The master's pid file, held with a write lock (fcntl) for the process's lifetime, so a
// second master on the same config refuses to start while the first is alive, and a stale file
// left by a crash is simply taken over.
class PidFile {
 public:
  // Throws std::runtime_error naming the file and, if locked, the pid holding it.
  explicit PidFile(std::filesystem::path path);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Binary upgrade: the old master moves its file aside (keeping the lock, which follows the
  // file) so the new master can create its own; a rollback moves it back.
  bool rename_to(const std::filesystem::path& to);

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

// The pid recorded in a pid file; nullopt (and why in *error) when there is none or it is garbage.
std::optional<pid_t> read_pid_file(const std::filesystem::path& path, std::string* error);

}  // namespace serverd
