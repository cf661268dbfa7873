#include "core/syslog_sink.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/pattern_formatter.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>

namespace serverd {
namespace {

constexpr std::array<std::string_view, 24> kFacilities = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
constexpr std::array<std::string_view, 8> kSeverities = {"emerg", "alert",  "crit", "error",
                                                         "warn",  "notice", "info", "debug"};

template <std::size_t N>
int index_of(const std::array<std::string_view, N>& names, std::string_view name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

bool resolve_udp(std::string_view server, SyslogTarget& t, std::string* error) {
  std::string host(server), port = "514";
  if (server.starts_with('[')) {  // "[::1]" or "[::1]:514"
    const auto close = server.find(']');
    if (close == std::string_view::npos) {
      *error = "missing \"]\" in server \"" + std::string(server) + "\"";
      return false;
    }
    host = std::string(server.substr(1, close - 1));
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') {
        *error = "unexpected text after \"]\" in server \"" + std::string(server) + "\"";
        return false;
      }
      port = std::string(server.substr(close + 2));
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    const auto colon = server.find(':');
    host = std::string(server.substr(0, colon));
    port = std::string(server.substr(colon + 1));
  }
  const bool numeric_port =
      !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      });
  if (!numeric_port || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    *error = "invalid port \"" + port + "\" in server \"" + std::string(server) + "\"";
    return false;
  }
  if (host.empty()) {
    *error = "server needs an address, as in server=127.0.0.1:514";
    return false;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    *error = "cannot resolve server \"" + host + "\": " + ::gai_strerror(rc);
    return false;
  }
  std::memcpy(&t.address, result->ai_addr, result->ai_addrlen);
  t.address_length = result->ai_addrlen;
  ::freeaddrinfo(result);
  return true;
}

bool resolve_unix(std::string_view path, SyslogTarget& t, std::string* error) {
  sockaddr_un un{};
  if (path.empty() || path.size() >= sizeof un.sun_path) {
    *error = "invalid unix socket path \"" + std::string(path) + "\"";
    return false;
  }
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  std::memcpy(&t.address, &un, sizeof un);
  t.address_length = static_cast<socklen_t>(sizeof un);
  return true;
}

bool valid_tag(std::string_view tag) {
  // nginx: letters, digits and "_", at most 32 characters (an RFC 5424 APP-NAME fits 48).
  return !tag.empty() && tag.size() <= 32 && std::all_of(tag.begin(), tag.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

}  // namespace

std::optional<SyslogTarget> parse_syslog_target(std::string_view value, std::string* error) {
  SyslogTarget t;
  std::string_view rest = value.substr(kSyslogPrefix.size());
  bool have_server = false;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view param = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string_view val =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    const std::string prefix = "syslog parameter \"" + std::string(param) + "\": ";
    if (key == "nohostname" && eq == std::string_view::npos) {
      t.nohostname = true;
      continue;
    }
    if (eq == std::string_view::npos) {
      *error = "unknown syslog parameter \"" + std::string(param) +
               "\" (valid: server=, facility=, severity=, tag=, nohostname)";
      return std::nullopt;
    }
    if (key == "server") {
      std::string why;
      const bool ok = val.starts_with("unix:") ? resolve_unix(val.substr(5), t, &why)
                                               : resolve_udp(val, t, &why);
      if (!ok) {
        *error = prefix + why;
        return std::nullopt;
      }
      t.server = std::string(val);
      have_server = true;
    } else if (key == "facility") {
      t.facility = index_of(kFacilities, val);
      if (t.facility < 0) {
        *error = prefix +
                 "unknown facility (kern, user, mail, daemon, auth, syslog, lpr, news, "
                 "uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0..local7)";
        return std::nullopt;
      }
    } else if (key == "severity") {
      const int s = index_of(kSeverities, val);
      if (s < 0) {
        *error = prefix +
                 "unknown severity (emerg, alert, crit, error, warn, notice, info, "
                 "debug)";
        return std::nullopt;
      }
      t.severity = s;
    } else if (key == "tag") {
      if (!valid_tag(val)) {
        *error = prefix + "a tag is 1 to 32 letters, digits or \"_\"";
        return std::nullopt;
      }
      t.tag = std::string(val);
    } else {
      *error = "unknown syslog parameter \"" + std::string(key) +
               "\" (valid: server=, facility=, severity=, tag=, nohostname)";
      return std::nullopt;
    }
  }
  if (!have_server) {
    *error =
        "syslog needs server=, as in \"syslog:server=127.0.0.1\" or "
        "\"syslog:server=unix:/dev/log\"";
    return std::nullopt;
  }
  return t;
}

int syslog_severity(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    case spdlog::level::critical:
      return 2;
    default:
      return 6;
  }
}

std::string format_syslog_line(int pri, std::string_view hostname, std::string_view tag,
                               std::string_view message) {
  // TIMESTAMP: local time with microseconds and the UTC offset, "+hh:mm" (RFC 5424 §6.2.3).
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1'000'000;
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  const long offset = tm.tm_gmtoff / 60;
  return fmt::format("<{}>1 {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}{:02}:{:02} {} {} {} - - {}",
                     pri, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, micros, offset < 0 ? '-' : '+', std::abs(offset) / 60,
                     std::abs(offset) % 60, hostname.empty() ? "-" : hostname, tag, ::getpid(),
                     message);
}

SyslogSender::SyslogSender(SyslogTarget target) : target_(std::move(target)) {
  if (!target_.nohostname) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) hostname_ = name;
  }
  fd_ = UniqueFd(::socket(target_.address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

void SyslogSender::send(std::string_view message, int severity) const {
  if (!fd_) return;
  const int pri = target_.facility * 8 + (severity >= 0 ? severity : target_.severity.value_or(6));
  const std::string line = format_syslog_line(pri, hostname_, target_.tag, message);
  // Best effort: a receiver that is gone or full loses the line (nginx does the same).
  (void)::sendto(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&target_.address), target_.address_length);
}

SyslogSink::SyslogSink(SyslogTarget target, const std::string& pattern)
    : sender_(std::move(target)),
      message_formatter_(std::make_unique<spdlog::pattern_formatter>(
          pattern, spdlog::pattern_time_type::local, "")) {}

void SyslogSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  message_formatter_->format(msg, formatted);
  sender_.send({formatted.data(), formatted.size()}, syslog_severity(msg.level));
}

}  // namespace serverd
