#pragma once
// The error log: spdlog's default logger, one line per event in nginx's shape
// "2026/11/25 10:00:00 [info] 1234#worker: message" (time, level, pid, role).
#include <string_view>

#include "core/config.hpp"

namespace serverd {

// `error_log` names a file (rotated, reopened) rather than "stderr" or a "syslog:" target.
bool error_log_is_file(const LogConfig& log);
// "syslog:..." values: the reason it is invalid, empty when it is valid (for the loader).
std::string syslog_target_error(std::string_view value);

// Before a config is loaded: everything goes to stderr.
void init_stderr_logging();
// From [log]; throws std::runtime_error when the file cannot be opened (the message names it).
void init_logging(const LogConfig& log, std::string_view role);
// Reopens the log file at its configured path (after an external rotation). Never throws: when
// that fails, the current log stays and says why.
void reopen_logging(const LogConfig& log, std::string_view role);

}  // namespace serverd
