#include "modules/access_log/log_writer.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace serverd {
namespace {

constexpr auto kRetryOpenEvery = std::chrono::seconds(1);
constexpr auto kReportEvery = std::chrono::seconds(1);

std::uint64_t count_lines(std::string_view bytes) {
  return static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
}

}  // namespace

LogWriter::LogWriter(TimerQueue& timers, std::filesystem::path path, std::size_t buffer_size,
                     Duration flush_interval)
    : timers_(timers),
      path_(std::move(path)),
      capacity_(buffer_size),
      flush_interval_(flush_interval),
      flush_timer_(timers, [this] {
        flush();
        report(false);
      }) {
  buffer_.reserve(capacity_);
  if (!open()) {
    note_failure(open_errno_, "open", {});
    report(true);
  }
}

LogWriter::~LogWriter() {
  flush();
  report(true);
}

bool LogWriter::open() {
  last_open_attempt_ = Clock::now();
  std::error_code ec;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ec);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    open_errno_ = errno;
    return false;
  }
  fd_.reset(fd);
  return true;
}

void LogWriter::append(std::string_view line) {
  if (line.size() > capacity_) {
    // Too long for the buffer: what is buffered goes first, then this line alone.
    flush();
    write_out(line);
    return;
  }
  if (buffer_.size() + line.size() > capacity_) flush();
  if (buffer_.empty() && flush_interval_.count() > 0) flush_timer_.arm(flush_interval_);
  buffer_.append(line);
}

void LogWriter::flush() {
  flush_timer_.cancel();
  if (buffer_.empty()) return;
  write_out(buffer_);
  buffer_.clear();  // keeps the capacity
}

void LogWriter::reopen() {
  flush();
  fd_.reset();
  if (!open()) note_failure(open_errno_, "reopen", {});
}

void LogWriter::write_out(std::string_view bytes) {
  if (!fd_) {
    // Not open (it failed before): retry at most once per second, else drop the lines.
    if (Clock::now() - last_open_attempt_ < kRetryOpenEvery || !open()) {
      note_failure(open_errno_, "open", bytes);
      return;
    }
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      note_failure(errno, "write", bytes.substr(done));
      return;
    }
    if (n == 0) {
      note_failure(EIO, "write", bytes.substr(done));
      return;
    }
    // A regular file takes only part of a write when the disk or a limit is full: the rest is
    // retried, and the next call then fails with the reason.
    done += static_cast<std::size_t>(n);
  }
  ++writes_;
}

void LogWriter::note_failure(int err, std::string_view what, std::string_view bytes) {
  ++failed_writes_;
  ++unreported_failures_;
  const std::uint64_t lines = count_lines(bytes);
  lost_lines_ += lines;
  unreported_lines_ += lines;
  last_errno_ = err;
  last_what_.assign(what);
  report(false);
}

void LogWriter::report(bool force) {
  if (unreported_failures_ == 0) return;
  const auto now = Clock::now();
  if (!force && reported_once_ && now - last_report_ < kReportEvery) return;
  spdlog::error(
      "access log \"{}\": {} failed: {} ({} failure(s), {} line(s) lost since the last "
      "report)",
      path_.string(), last_what_, std::strerror(last_errno_), unreported_failures_,
      unreported_lines_);
  reported_once_ = true;
  last_report_ = now;
  unreported_failures_ = 0;
  unreported_lines_ = 0;
}

}  // namespace serverd
