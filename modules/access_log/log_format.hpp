#pragma once
// Access log line formats: "combined" (nginx's), "json" (one RFC 8259 object per line) and
// custom templates with nginx-style variables, compiled once at config time and rendered per
// request without allocating in the steady state (into a reused string).
//
// Variables (any other name is a config error):
//   $remote_addr $remote_port $remote_user ("-": there is no authentication)
//   $time_local ("10/Oct/2000:13:55:36 -0700") $time_iso8601 ("2000-10-10T13:55:36-07:00")
//   $msec ("971211336.123")
//   $request ("GET /a?x=1 HTTP/1.1") $request_method $request_uri (raw target) $uri (decoded)
//   $args / $query_string $host $server_protocol $server_addr $server_port
//   $status $body_bytes_sent $request_time ("0.012", seconds)
//   $upstream_addr $upstream_response_time ("0.012", seconds; "-" without an upstream)
//   $http_referer $http_user_agent $http_<name> (any request header, '_' matching '-')
// `${name}` delimits a name followed by name characters. An empty or missing value prints "-".
// In templates (combined included) every value is escaped as nginx does: '"', '\', control
// bytes and bytes >= 0x7f become "\xHH".
#include <cstdint>
#include <ctime>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.hpp"
#include "http/request.hpp"

namespace serverd {

enum class LogVar : std::uint8_t {
  remote_addr,
  remote_port,
  remote_user,
  time_local,
  time_iso8601,
  msec,
  request,
  request_method,
  request_uri,
  uri,
  args,
  host,
  server_protocol,
  server_addr,
  server_port,
  status,
  body_bytes_sent,
  request_time,
  upstream_addr,
  upstream_response_time,
  http_header,  // $http_<name>: the name is kept in the segment
  tls,          // $https, $ssl_*: the name is kept in the segment (see http/variables.hpp)
};

struct LogSegment {
  bool literal = true;
  LogVar var = LogVar::remote_addr;
  std::string text;  // the literal text, or for http_header the folded header name
};

struct LogFormat {
  enum class Kind { combined, json, custom } kind = Kind::combined;
  std::string text;  // as configured: "combined", "json" or the template
  std::vector<LogSegment> segments;  // empty for json
};

inline constexpr std::string_view kCombinedTemplate =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"";

struct LogFormatError {
  std::size_t offset = 0;  // byte offset of the problem in the template
  std::string message;
};

// "combined", "json" or a template. On failure, `error` says what and where.
std::optional<LogFormat> compile_log_format(std::string_view text, LogFormatError* error);

// The wall-clock time of a log line, formatted once per second by TimeCache.
struct LogTime {
  std::int64_t epoch_ms = 0;
  std::string_view local;    // "10/Oct/2000:13:55:36 -0700"
  std::string_view iso8601;  // "2000-10-10T13:55:36-07:00"
};

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
