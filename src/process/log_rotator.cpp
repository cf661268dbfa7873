#include "process/log_rotator.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace serverd {

namespace fs = std::filesystem;

namespace {
fs::path numbered(const fs::path& file, int n, bool gz) {
  return fs::path(file.string() + "." + std::to_string(n) + (gz ? ".gz" : ""));
}
}  // namespace

bool gzip_file(const fs::path& from, const fs::path& to, std::string* error) {
  std::FILE* in = std::fopen(from.c_str(), "rb");
  if (!in) {
    *error = "cannot open " + from.string() + ": " + std::strerror(errno);
    return false;
  }
  fs::path tmp = to.string() + ".tmp";
  gzFile out = gzopen(tmp.c_str(), "wb6");
  if (!out) {
    std::fclose(in);
    *error = "cannot create " + tmp.string();
    return false;
  }
  char buf[64 * 1024];
  bool ok = true;
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
    if (gzwrite(out, buf, static_cast<unsigned>(n)) != static_cast<int>(n)) {
      ok = false;
      break;
    }
  }
  ok = ok && !std::ferror(in);
  std::fclose(in);
  ok = gzclose(out) == Z_OK && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, to, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    *error = "compressing " + from.string() + " failed";
    return false;
  }
  return true;
}

LogRotator::LogRotator(EventLoop& loop, const LogRotateConfig& config, std::vector<fs::path> files,
                       RequestReopen request_reopen)
    : loop_(loop),
      config_(config),
      files_(std::move(files)),
      request_reopen_(std::move(request_reopen)),
      timer_(loop.timers(), [this] { check(); }) {
  period_ = period_of(std::time(nullptr));
  timer_.arm(std::chrono::milliseconds(200));
}

long LogRotator::period_of(std::time_t t) const {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  long day = static_cast<long>(tm.tm_year) * 400 + tm.tm_yday;
  switch (config_.interval) {
    case LogRotateConfig::Interval::hourly:
      return day * 24 + tm.tm_hour;
    case LogRotateConfig::Interval::daily:
      return day;
    case LogRotateConfig::Interval::never:
      break;
  }
  return -1;
}

void LogRotator::check() {
  timer_.arm(std::chrono::milliseconds(200));
  if (busy()) return;
  std::vector<fs::path> due;
  long period = period_of(std::time(nullptr));
  bool boundary = period != period_;
  period_ = period;
  for (const auto& f : files_) {
    std::error_code ec;
    auto size = fs::file_size(f, ec);
    if (ec || size == 0) continue;
    if (boundary || (config_.max_size && size >= *config_.max_size)) due.push_back(f);
  }
  if (!due.empty()) rotate(due);
}

void LogRotator::rotate(const std::vector<fs::path>& due) {
  std::vector<fs::path> moved;
  for (const auto& f : due) {
    std::error_code ec;
    // Make room: FILE.keep goes, FILE.(n) becomes FILE.(n+1).
    for (int n = std::max(config_.keep, 1); n >= 1; --n) {
      for (bool gz : {true, false}) {
        fs::path from = numbered(f, n, gz);
        if (!fs::exists(from, ec)) continue;
        if (n >= config_.keep)
          fs::remove(from, ec);
        else
          fs::rename(from, numbered(f, n + 1, gz), ec);
      }
    }
    fs::rename(f, numbered(f, 1, false), ec);
    if (ec) {
      spdlog::error("log rotation: cannot rename {}: {}", f.string(), ec.message());
      continue;
    }
    moved.push_back(f);
  }
  if (moved.empty()) return;
  pending_files_ = moved;
  pending_id_ = std::to_string(::getpid()) + "-" + std::to_string(++sequence_);
  spdlog::info("log rotation: rotated {} file(s), asking every process to reopen", moved.size());
  request_reopen_(pending_id_);
}

void LogRotator::on_reopened(const std::string& id) {
  if (id != pending_id_) return;
  pending_id_.clear();
  auto files = std::move(pending_files_);
  pending_files_.clear();
  for (const auto& f : files) {
    fs::path rotated = numbered(f, 1, false);
    std::error_code ec;
    if (config_.keep == 0) {
      fs::remove(rotated, ec);
      continue;
    }
    if (!config_.compress) continue;
    std::string error;
    if (gzip_file(rotated, numbered(f, 1, true), &error))
      fs::remove(rotated, ec);
    else
      spdlog::error("log rotation: {}", error);
  }
}

}  // namespace serverd
