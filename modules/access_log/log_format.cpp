#include "modules/access_log/log_format.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <array>
#include <charconv>

#include "http/variables.hpp"

namespace serverd {
namespace {

struct VarName {
  std::string_view name;
  LogVar var;
};

constexpr std::array<VarName, 21> kVars = {{
    {"remote_addr", LogVar::remote_addr},
    {"remote_port", LogVar::remote_port},
    {"remote_user", LogVar::remote_user},
    {"time_local", LogVar::time_local},
    {"time_iso8601", LogVar::time_iso8601},
    {"msec", LogVar::msec},
    {"request", LogVar::request},
    {"request_method", LogVar::request_method},
    {"request_uri", LogVar::request_uri},
    {"uri", LogVar::uri},
    {"args", LogVar::args},
    {"query_string", LogVar::args},
    {"host", LogVar::host},
    {"server_protocol", LogVar::server_protocol},
    {"server_addr", LogVar::server_addr},
    {"server_port", LogVar::server_port},
    {"status", LogVar::status},
    {"body_bytes_sent", LogVar::body_bytes_sent},
    {"request_time", LogVar::request_time},
    {"upstream_addr", LogVar::upstream_addr},
    {"upstream_response_time", LogVar::upstream_response_time},
}};

constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kHexLower = "0123456789abcdef";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// nginx's $http_x_real_ip matches "X-Real-IP": case folded, '-' read as '_'.
char fold(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c | 0x20);
  if (c == '-') return '_';
  return c;
}

bool header_matches(std::string_view header, std::string_view folded) {
  if (header.size() != folded.size()) return false;
  for (std::size_t i = 0; i < header.size(); ++i)
    if (fold(header[i]) != folded[i]) return false;
  return true;
}

std::optional<std::string_view> find_header(const Request& r, std::string_view folded) {
  for (const auto& h : r.headers())
    if (header_matches(h.name, folded)) return h.value;
  return std::nullopt;
}

template <typename Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

// "12.345" from milliseconds.
void append_seconds_ms(std::string& out, std::int64_t ms) {
  if (ms < 0) ms = 0;
  append_int(out, ms / 1000);
  const auto frac = static_cast<int>(ms % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + frac / 100));
  out.push_back(static_cast<char>('0' + frac / 10 % 10));
  out.push_back(static_cast<char>('0' + frac % 10));
}

void append_status(std::string& out, int status) {
  if (status <= 0 || status > 999) {
    out.append("000");
    return;
  }
  out.push_back(static_cast<char>('0' + status / 100));
  out.push_back(static_cast<char>('0' + status / 10 % 10));
  out.push_back(static_cast<char>('0' + status % 10));
}

// Host part of an address, formatted into `buf` (no allocation).
using HostBuf = char[INET6_ADDRSTRLEN + 8];
std::string_view host_text(const SocketAddress& a, HostBuf& buf) {
  buf[0] = '\0';
  if (a.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a.get());
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) return buf;
  } else if (a.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.get());
    if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) return buf;
  } else if (a.family() == AF_UNIX) {
    return "unix:";
  }
  return {};
}

void append_host(std::string& out, const SocketAddress& a) {
  HostBuf buf;
  out.append(host_text(a, buf));
}

// $host: the Host header's host, else the local address.
std::string_view host_value(const Request& r, HostBuf& buf) {
  if (!r.host().empty()) return r.host();
  return host_text(r.local(), buf);
}

void append_request_line(std::string& out, const Request& r) {
  if (r.method().empty()) return;
  out.append(r.method());
  out.push_back(' ');
  out.append(r.target());
  out.push_back(' ');
  out.append(r.version_string());
}

// The raw value of a variable, unescaped; empty means "-".
void append_raw(std::string& out, const LogSegment& seg, const LogContext& ctx) {
  const Request& r = ctx.request;
  const ExchangeLog& log = ctx.log;
  switch (seg.var) {
    case LogVar::remote_addr: append_host(out, r.peer()); break;
    case LogVar::remote_port: append_int(out, r.peer().port()); break;
    case LogVar::remote_user: break;
    case LogVar::time_local: out.append(ctx.time.local); break;
    case LogVar::time_iso8601: out.append(ctx.time.iso8601); break;
    case LogVar::msec: append_seconds_ms(out, ctx.time.epoch_ms); break;
    case LogVar::request: append_request_line(out, r); break;
    case LogVar::request_method: out.append(r.method()); break;
    case LogVar::request_uri: out.append(r.target()); break;
    case LogVar::uri: out.append(r.path()); break;
    case LogVar::args: out.append(r.query()); break;
    case LogVar::host: {
      HostBuf buf;
      out.append(host_value(r, buf));
      break;
    }
    case LogVar::server_protocol:
      if (!r.method().empty()) out.append(r.version_string());
      break;
    case LogVar::server_addr: append_host(out, r.local()); break;
    case LogVar::server_port: append_int(out, r.local().port()); break;
    case LogVar::status: append_status(out, log.status); break;
    case LogVar::body_bytes_sent: append_int(out, log.body_bytes_sent); break;
    case LogVar::request_time: append_seconds_ms(out, ctx.request_time_ms); break;
    case LogVar::upstream_addr: out.append(log.upstream_addr); break;
    case LogVar::upstream_response_time:
      if (log.upstream_response_time_us >= 0)
        append_seconds_ms(out, log.upstream_response_time_us / 1000);
      break;
    case LogVar::http_header:
      if (auto v = find_header(r, seg.text)) out.append(*v);
      break;
    case LogVar::tls:
      append_expanded(out, seg.text, r, r.tls() != nullptr ? "https" : "http");
      break;
  }
}

bool needs_nginx_escape(unsigned char c) { return c < 0x20 || c >= 0x7f || c == '"' || c == '\\'; }

void render_template(const LogFormat& format, const LogContext& ctx, std::string& out) {
  for (const LogSegment& seg : format.segments) {
    if (seg.literal) {
      out.append(seg.text);
      continue;
    }
    const std::size_t begin = out.size();
    append_raw(out, seg, ctx);
    if (out.size() == begin) {
      out.push_back('-');
      continue;
    }
    // Escape in place only when needed (the common value needs none).
    bool clean = true;
    for (std::size_t i = begin; i < out.size() && clean; ++i)
      clean = !needs_nginx_escape(static_cast<unsigned char>(out[i]));
    if (clean) continue;
    // Rare: re-render the value escaped. The raw bytes are moved aside into a small local.
    std::string raw = out.substr(begin);
    out.resize(begin);
    append_nginx_escaped(out, raw);
  }
}

// JSON member helpers: `"key":` then a value.
void json_key(std::string& out, std::string_view key, bool first = false) {
  if (!first) out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

void json_string_or_null(std::string& out, std::string_view value, bool present) {
  if (!present) {
    out.append("null");
    return;
  }
  append_json_string(out, value);
}

void render_json(const LogContext& ctx, std::string& out) {
  const Request& r = ctx.request;
  const ExchangeLog& log = ctx.log;
  HostBuf buf;
  out.push_back('{');
  json_key(out, "time", true);
  append_json_string(out, ctx.time.iso8601);
  json_key(out, "remote_addr");
  append_json_string(out, host_text(r.peer(), buf));
  json_key(out, "request");
  out.push_back('"');
  if (!r.method().empty()) {
    append_json_chars(out, r.method());
    out.push_back(' ');
    append_json_chars(out, r.target());
    out.push_back(' ');
    out.append(r.version_string());
  }
  out.push_back('"');
  json_key(out, "method");
  append_json_string(out, r.method());
  json_key(out, "uri");
  append_json_string(out, r.path());
  json_key(out, "status");
  append_int(out, log.status);
  json_key(out, "body_bytes_sent");
  append_int(out, log.body_bytes_sent);
  json_key(out, "request_time");
  append_seconds_ms(out, ctx.request_time_ms);
  json_key(out, "upstream_addr");
  json_string_or_null(out, log.upstream_addr, !log.upstream_addr.empty());
  json_key(out, "upstream_response_time");
  if (log.upstream_response_time_us >= 0)
    append_seconds_ms(out, log.upstream_response_time_us / 1000);
  else
    out.append("null");
  const auto referer = find_header(r, "referer");
  json_key(out, "http_referer");
  json_string_or_null(out, referer.value_or(""), referer.has_value());
  const auto agent = find_header(r, "user_agent");
  json_key(out, "http_user_agent");
  json_string_or_null(out, agent.value_or(""), agent.has_value());
  json_key(out, "host");
  append_json_string(out, host_value(r, buf));
  out.push_back('}');
}

// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 when the bytes there are not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const std::size_t left = s.size() - i;
  auto cont = [&](std::size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_u00(std::string& out, unsigned char c) {
  out.append("\\u00");
  out.push_back(kHexLower[c >> 4]);
  out.push_back(kHexLower[c & 0xF]);
}

}  // namespace

std::optional<LogFormat> compile_log_format(std::string_view text, LogFormatError* error) {
  LogFormat f;
  f.text = std::string(text);
  if (text == "json") {
    f.kind = LogFormat::Kind::json;
    return f;
  }
  std::string_view tmpl = text;
  if (text == "combined") {
    f.kind = LogFormat::Kind::combined;
    tmpl = kCombinedTemplate;
  } else {
    f.kind = LogFormat::Kind::custom;
  }
  auto fail = [&](std::size_t offset, std::string message) -> std::optional<LogFormat> {
    if (error) *error = LogFormatError{offset, std::move(message)};
    return std::nullopt;
  };
  if (tmpl.empty()) return fail(0, "an empty log format");
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    f.segments.push_back(LogSegment{true, LogVar::remote_addr, std::move(literal)});
    literal.clear();
  };
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      return fail(i, "control characters (line breaks) are not allowed in a log format");
    if (c != '$') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const std::size_t dollar = i;
    std::size_t begin = i + 1;
    std::size_t end = begin;
    std::size_t next = 0;
    if (begin < tmpl.size() && tmpl[begin] == '{') {
      ++begin;
      const std::size_t close = tmpl.find('}', begin);
      if (close == std::string_view::npos) return fail(dollar, "unterminated \"${\"");
      end = close;
      next = close + 1;
      for (std::size_t k = begin; k < end; ++k)
        if (!is_name_char(tmpl[k])) return fail(k, "invalid character in a variable name");
    } else {
      while (end < tmpl.size() && is_name_char(tmpl[end])) ++end;
      next = end;
    }
    const std::string_view name = tmpl.substr(begin, end - begin);
    if (name.empty())
      return fail(dollar, "\"$\" must be followed by a variable name (e.g. $remote_addr)");
    LogSegment seg{false, LogVar::remote_addr, {}};
    bool known = false;
    if (name == "https" || name == "ssl_protocol" || name == "ssl_cipher" ||
        name == "ssl_client_s_dn" || name == "ssl_client_verify" || name == "ssl_server_name" ||
        name == "ssl_session_reused") {
      seg.var = LogVar::tls;
      seg.text = "${" + std::string(name) + "}";
      known = true;
    } else if (name.starts_with("http_") && name.size() > 5) {
      seg.var = LogVar::http_header;
      for (char ch : name.substr(5)) seg.text.push_back(fold(ch));
      known = true;
    } else {
      for (const auto& v : kVars)
        if (v.name == name) {
          seg.var = v.var;
          known = true;
          break;
        }
    }
    if (!known) return fail(dollar, "unknown variable \"$" + std::string(name) + "\"");
    flush_literal();
    f.segments.push_back(std::move(seg));
    i = next;
  }
  flush_literal();
  return f;
}

void format_log_times(const std::tm& tm, long gmtoff, char (&local)[32], char (&iso)[32]) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto clamp = [](long v, long hi) { return v < 0 ? 0 : v > hi ? hi : v; };
  auto put = [](char*& p, long v, int digits) {
    for (int k = digits - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += digits;
  };
  const char sign = gmtoff < 0 ? '-' : '+';
  const long off_min = clamp((gmtoff < 0 ? -gmtoff : gmtoff) / 60, 99 * 60 + 59);
  const long year = clamp(tm.tm_year + 1900L, 9999);
  const int mon = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
  const long day = clamp(tm.tm_mday, 99), hour = clamp(tm.tm_hour, 99);
  const long min = clamp(tm.tm_min, 99), sec = clamp(tm.tm_sec, 99);

  char* p = local;  // 10/Oct/2000:13:55:36 -0700
  put(p, day, 2);
  *p++ = '/';
  for (const char* m = kMonths[mon]; *m; ++m) *p++ = *m;
  *p++ = '/';
  put(p, year, 4);
  *p++ = ':';
  put(p, hour, 2);
  *p++ = ':';
  put(p, min, 2);
  *p++ = ':';
  put(p, sec, 2);
  *p++ = ' ';
  *p++ = sign;
  put(p, off_min / 60, 2);
  put(p, off_min % 60, 2);
  *p = '\0';

  p = iso;  // 2000-10-10T13:55:36-07:00
  put(p, year, 4);
  *p++ = '-';
  put(p, mon + 1, 2);
  *p++ = '-';
  put(p, day, 2);
  *p++ = 'T';
  put(p, hour, 2);
  *p++ = ':';
  put(p, min, 2);
  *p++ = ':';
  put(p, sec, 2);
  *p++ = sign;
  put(p, off_min / 60, 2);
  *p++ = ':';
  put(p, off_min % 60, 2);
  *p = '\0';
}

LogTime TimeCache::at(std::int64_t epoch_ms) {
  const std::int64_t second = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  if (second != second_) {
    second_ = second;
    const auto t = static_cast<std::time_t>(second);
    std::tm tm{};
    if (::localtime_r(&t, &tm) != nullptr) {
      format_log_times(tm, tm.tm_gmtoff, local_, iso_);
    } else {
      local_[0] = iso_[0] = '\0';
    }
  }
  return LogTime{epoch_ms, local_, iso_};
}

void render_log_line(const LogFormat& format, const LogContext& ctx, std::string& out) {
  if (format.kind == LogFormat::Kind::json) {
    render_json(ctx, out);
    return;
  }
  render_template(format, ctx, out);
}

void append_nginx_escaped(std::string& out, std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (!needs_nginx_escape(c)) {
      out.push_back(ch);
      continue;
    }
    out.append("\\x");
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
}

void append_json_string(std::string& out, std::string_view value) {
  out.push_back('"');
  append_json_chars(out, value);
  out.push_back('"');
}

void append_json_chars(std::string& out, std::string_view value) {
  std::size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x20 || c == 0x7f) {
        append_u00(out, c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(value, i);
    if (n == 0) {
      append_u00(out, c);  // one invalid byte, as the Latin-1 character of that value
      ++i;
      continue;
    }
    out.append(value.substr(i, n));
    i += n;
  }
}

}  // namespace serverd
