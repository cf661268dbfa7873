#pragma once
// Access log line formats: "combined" (nginx's), "json" (one RFC 8259 object per line) and
// custom templates with nginx-style variables, compiled once at config time and rendered per
// request without allocating in the steady state (into a reused string).
//
// Variables: those of http/variables.hpp, the log's own included; any other name is a config
// error. An empty or missing value prints "-". In templates (combined included) every value is
// escaped as nginx does: '"', '\', control bytes and bytes >= 0x7f become "\xHH".
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "http/exchange.hpp"
#include "http/request.hpp"
#include "http/variables.hpp"

namespace serverd {

struct LogFormat {
  enum class Kind { combined, json, custom } kind = Kind::combined;
  std::string text;           // as configured: "combined", "json" or the template
  CompiledTemplate compiled;  // empty for json
};

inline constexpr std::string_view kCombinedTemplate =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"";

using LogFormatError = TemplateError;

// "combined", "json" or a template. On failure, `error` says what and where.
std::optional<LogFormat> compile_log_format(std::string_view text, LogFormatError* error);

// Formats the two texts for a broken-down local time with its UTC offset (seconds east).
// Both are NUL-terminated (26 and 25 characters).
void format_log_times(const std::tm& tm, long gmtoff, char (&local)[32], char (&iso)[32]);

// Per-worker cache of the formatted current time (localtime_r once per second).
class TimeCache {
 public:
  // The time for `epoch_ms` (milliseconds since the epoch).
  LogTime at(std::int64_t epoch_ms);

 private:
  std::int64_t second_ = std::numeric_limits<std::int64_t>::min();
  char local_[32] = {};
  char iso_[32] = {};
};

struct LogContext {
  const Request& request;
  const ExchangeLog& log;
  LogTime time;
  std::int64_t request_time_ms = 0;  // from the first request byte to the log call
};

// Appends one line (without the trailing '\n').
void render_log_line(const LogFormat& format, const LogContext& ctx, std::string& out);

// Escaping, exposed for tests.
void append_nginx_escaped(std::string& out, std::string_view value);
// A JSON string literal (quotes included): '"' '\' escaped, control bytes and DEL as \u00XX,
// valid UTF-8 kept, every byte of an invalid UTF-8 sequence as \u00XX (its Latin-1 code point)
// so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view value);
// The same without the quotes.
void append_json_chars(std::string& out, std::string_view value);

}  // namespace serverd
