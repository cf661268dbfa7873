#include "core/log.hpp"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/syslog_sink.hpp"

namespace serverd {

namespace {
spdlog::level::level_enum parse_level(std::string_view level) {
  auto l = spdlog::level::from_str(std::string(level));
  if (level == "warn") l = spdlog::level::warn;
  return l;
}

void install(std::shared_ptr<spdlog::logger> logger, std::string_view role,
             spdlog::level::level_enum level) {
  logger->set_pattern(fmt::format("%Y/%m/%d %H:%M:%S [%l] %P#{}: %v", role));
  logger->set_level(level);
  // Errors must reach the disk before a crash could lose them; info lines may batch.
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}
}  // namespace

bool error_log_is_file(const LogConfig& log) {
  return log.error_log != "stderr" && !is_syslog_target(log.error_log);
}

std::string syslog_target_error(std::string_view value) {
  std::string error;
  if (!parse_syslog_target(value, &error)) return error;
  return {};
}

void init_stderr_logging() {
  install(spdlog::stderr_logger_st("serverd-stderr-boot"), "serverd", spdlog::level::info);
  spdlog::drop("serverd-stderr-boot");
}

namespace {

// The logger `log` asks for, or null with the reason in `error`. No exception crosses it: a
// reopen runs when descriptors may be exhausted, and there even a member call on a caught
// exception can fail (UBSan's vptr check reads module data it cannot open then; spdlog_ex's
// type info lives in libspdlog).
std::shared_ptr<spdlog::logger> make_logger(const LogConfig& log, std::string_view role,
                                            std::string& error) {
  if (is_syslog_target(log.error_log)) {
    auto target = parse_syslog_target(log.error_log, &error);
    if (!target) {
      error = "error_log \"" + log.error_log + "\": " + error;
      return nullptr;
    }
    // The syslog header carries time, host, tag and pid: the message keeps level and role.
    return std::make_shared<spdlog::logger>(
        "serverd",
        std::make_shared<SyslogSink>(std::move(*target), fmt::format("[%l] {}: %v", role)));
  }
  if (log.error_log == "stderr")
    return std::make_shared<spdlog::logger>("serverd",
                                            std::make_shared<spdlog::sinks::stderr_sink_st>());
  std::filesystem::path path(log.error_log);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  // Opened here first, so the usual failures (no descriptor left, no permission) come with
  // their errno.
  const int probe = ::open(log.error_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (probe < 0) {
    error = "cannot open error log \"" + log.error_log + "\": " + std::strerror(errno);
    return nullptr;
  }
  ::close(probe);
  try {
    return std::make_shared<spdlog::logger>(
        "serverd", std::make_shared<spdlog::sinks::basic_file_sink_st>(log.error_log, false));
  } catch (...) {
    error = "cannot open error log \"" + log.error_log + "\"";
    return nullptr;
  }
}

}  // namespace

void init_logging(const LogConfig& log, std::string_view role) {
  std::string error;
  auto logger = make_logger(log, role, error);
  if (!logger) throw std::runtime_error(error);
  install(std::move(logger), role, parse_level(log.level));
}

void reopen_logging(const LogConfig& log, std::string_view role) {
  // Failing (descriptors exhausted, a directory gone) keeps the file already open: losing the
  // process over a rotation would be worse than logging to the old file.
  std::string error;
  auto logger = make_logger(log, role, error);
  if (!logger) {
    spdlog::error("{}; still logging to the file opened before", error);
    return;
  }
  install(std::move(logger), role, parse_level(log.level));
}

}  // namespace serverd
