#pragma once
// Log rotation, run by the agent alone, so that N workers never race to rename a file. For each
// file due (by [log.rotate] max_size, or at the hourly/daily boundary): shift FILE.N(.gz) up by
// one, dropping what falls beyond `keep`, rename FILE to FILE.1, then ask every process (through
// the master) to reopen and wait for all of them to confirm. Only then is FILE.1 complete — every
// line written before the reopen went to it, every line after to the new FILE — and it is
// compressed to FILE.1.gz. No line is lost, duplicated or torn.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "event/loop.hpp"

namespace serverd {

class LogRotator {
 public:
  using RequestReopen = std::function<void(const std::string& id)>;
  LogRotator(EventLoop& loop, const LogRotateConfig& config,
             std::vector<std::filesystem::path> files, RequestReopen request_reopen);
  // Every process has reopened its files for rotation `id`.
  void on_reopened(const std::string& id);
  bool busy() const { return !pending_id_.empty(); }

 private:
  void check();
  void rotate(const std::vector<std::filesystem::path>& due);
  long period_of(std::time_t t) const;

  EventLoop& loop_;
  LogRotateConfig config_;
  std::vector<std::filesystem::path> files_;
  RequestReopen request_reopen_;
  Timer timer_;
  long period_ = -1;
  unsigned sequence_ = 0;
  std::string pending_id_;
  std::vector<std::filesystem::path> pending_files_;
};

// gzip `from` into `to` (through a temporary file, renamed when complete). false on error.
bool gzip_file(const std::filesystem::path& from, const std::filesystem::path& to,
               std::string* error);

}  // namespace serverd
