#pragma once
// nginx's `syslog:` log target: "syslog:server=ADDR[:PORT][,facility=F][,severity=S][,tag=T]
// [,nohostname]". Messages go out as RFC 5424 datagrams,
//   <PRI>1 2026-12-03T10:00:00.123456+00:00 HOST TAG PID - - MESSAGE
// over UDP (default port 514) or to a local datagram socket ("server=unix:/dev/log").
// Sending is best effort, as nginx's: a full or missing receiver loses the line, never blocks.
//
// spdlog 1.10 has a udp_sink (no syslog framing, no unix sockets) and a syslog_sink (syslog(3):
// /dev/log only, one process-wide openlog() identity), so the sink is written here.
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/unique_fd.hpp"

namespace serverd {

struct SyslogTarget {
  std::string server;          // as written: "127.0.0.1:514", "[::1]", "unix:/dev/log"
  sockaddr_storage address{};  // resolved at load time
  socklen_t address_length = 0;
  int facility = 23;            // local7
  std::optional<int> severity;  // 0..7; the error log uses each message's level instead
  std::string tag = "serverd";
  bool nohostname = false;
};

constexpr std::string_view kSyslogPrefix = "syslog:";
inline bool is_syslog_target(std::string_view value) {
  return value.starts_with(kSyslogPrefix);
}

// Parses "syslog:..."; nullopt and the reason in *error when a parameter is invalid.
std::optional<SyslogTarget> parse_syslog_target(std::string_view value, std::string* error);

// syslog severity (0 emergency .. 7 debug) of a log level.
int syslog_severity(spdlog::level::level_enum level);

// One RFC 5424 line (without a trailing newline). `hostname` empty = NILVALUE "-".
std::string format_syslog_line(int pri, std::string_view hostname, std::string_view tag,
                               std::string_view message);

class SyslogSender {
 public:
  explicit SyslogSender(SyslogTarget target);
  // Sends one message; `severity` < 0 uses the target's (default info).
  void send(std::string_view message, int severity) const;
  const SyslogTarget& target() const { return target_; }

 private:
  SyslogTarget target_;
  std::string hostname_;
  UniqueFd fd_;
};

// The error log's sink: each message's level gives the severity.
class SyslogSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  // `pattern` formats the message part (the time is in the syslog header already).
  SyslogSink(SyslogTarget target, const std::string& pattern);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
  // The logger's pattern (with a date) is for files: this sink keeps its own.
  void set_pattern_(const std::string& /*pattern*/) override {}
  void set_formatter_(std::unique_ptr<spdlog::formatter> /*formatter*/) override {}

 private:
  SyslogSender sender_;
  std::unique_ptr<spdlog::formatter> message_formatter_;
};

}  // namespace serverd
