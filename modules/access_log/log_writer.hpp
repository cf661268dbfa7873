#pragma once
// One access log file in one worker: lines are collected in a buffer and written with a single
// write() of whole lines (O_APPEND, so several workers never split each other's lines):
//   - when the next line would not fit in the buffer (the buffer is written first);
//   - by a timer, at most `flush` after the first line entered an empty buffer;
//   - on flush() (reopen, worker exit).
// A line longer than the buffer is written alone. A failed write drops the lines it carried:
// they are counted and reported to the error log at most once per second; nothing is thrown.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/unique_fd.hpp"
#include "core/units.hpp"
#include "event/timer.hpp"

namespace serverd {

class LogWriter {
 public:
  // Opens the file at once (parent directories created); a failure is reported, and opening
  // is retried (at most once per second) when lines arrive.
  LogWriter(TimerQueue& timers, std::filesystem::path path, std::size_t buffer_size,
            Duration flush_interval);
  // Writes what is buffered.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // One whole line, '\n' included.
  void append(std::string_view line);
  // Writes the buffer now.
  void flush();
  // USR1 / rotation: flushes to the current descriptor, closes it and opens the path again.
  void reopen();

  const std::filesystem::path& path() const { return path_; }
  std::size_t buffer_size() const { return capacity_; }
  Duration flush_interval() const { return flush_interval_; }
  std::size_t buffered() const { return buffer_.size(); }
  bool is_open() const { return static_cast<bool>(fd_); }

  // Counters (for tests and diagnostics).
  std::uint64_t writes() const { return writes_; }
  std::uint64_t failed_writes() const { return failed_writes_; }
  std::uint64_t lost_lines() const { return lost_lines_; }

 private:
  bool open();
  // One write() of whole lines; on failure the lines are dropped and counted.
  void write_out(std::string_view bytes);
  void note_failure(int err, std::string_view what, std::string_view bytes);
  void report(bool force);

  TimerQueue& timers_;
  std::filesystem::path path_;
  std::size_t capacity_;
  Duration flush_interval_;
  UniqueFd fd_;
  std::string buffer_;
  Timer flush_timer_;
  Clock::time_point last_open_attempt_{};
  int open_errno_ = 0;
  // Error reporting, rate-limited.
  std::uint64_t writes_ = 0;
  std::uint64_t failed_writes_ = 0;
  std::uint64_t lost_lines_ = 0;
  std::uint64_t unreported_failures_ = 0;
  std::uint64_t unreported_lines_ = 0;
  int last_errno_ = 0;
  std::string last_what_;
  Clock::time_point last_report_{};
  bool reported_once_ = false;
};

}  // namespace serverd
