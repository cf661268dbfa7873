#include "modules/access_log/log_format.hpp"

#include <charconv>

namespace serverd {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kHexLower = "0123456789abcdef";

void append_int(std::string& out, int value) {
  char buf[16];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

// One variable's raw value, from the engine.
void append_var(std::string& out, VarId id, const VariableContext& vars) {
  append_segment(TemplateSegment{id, {}}, vars, out);
}

bool needs_nginx_escape(unsigned char c) {
  return c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
}

void render_template(const LogFormat& format, const VariableContext& vars, std::string& out) {
  for (const TemplateSegment& seg : format.compiled.segments) {
    if (seg.is_literal()) {
      out.append(seg.text);
      continue;
    }
    const std::size_t begin = out.size();
    append_segment(seg, vars, out);
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

// An address's text (digits, hex, '.', ':') needs no JSON escaping.
void json_address(std::string& out, VarId id, const VariableContext& vars) {
  out.push_back('"');
  append_var(out, id, vars);
  out.push_back('"');
}

void render_json(const LogContext& ctx, const VariableContext& vars, std::string& out) {
  const Request& r = ctx.request;
  const ExchangeLog& log = ctx.log;
  out.push_back('{');
  json_key(out, "time", true);
  append_json_string(out, ctx.time.iso8601);
  json_key(out, "remote_addr");
  json_address(out, VarId::remote_addr, vars);
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
  append_var(out, VarId::body_bytes_sent, vars);
  json_key(out, "request_time");
  append_var(out, VarId::request_time, vars);
  json_key(out, "upstream_addr");
  json_string_or_null(out, log.upstream_addr, !log.upstream_addr.empty());
  json_key(out, "upstream_response_time");
  const std::size_t before = out.size();
  append_var(out, VarId::upstream_response_time, vars);
  if (out.size() == before) out.append("null");
  const auto referer = find_folded_header(r, "referer");
  json_key(out, "http_referer");
  json_string_or_null(out, referer.value_or(""), referer.has_value());
  const auto agent = find_folded_header(r, "user_agent");
  json_key(out, "http_user_agent");
  json_string_or_null(out, agent.value_or(""), agent.has_value());
  json_key(out, "host");
  if (!r.host().empty())
    append_json_string(out, r.host());
  else
    json_address(out, VarId::server_addr, vars);
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
  TemplateError template_error;
  auto compiled = compile_log_template(tmpl, &template_error);
  // A line break would split the line. The first problem of the template is the one reported,
  // so only bytes before the engine's complaint count (a name never holds a control byte).
  const std::size_t checked = compiled ? tmpl.size() : template_error.offset;
  for (std::size_t i = 0; i < checked; ++i) {
    const char c = tmpl[i];
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      return fail(i, "control characters (line breaks) are not allowed in a log format");
  }
  if (!compiled) return fail(template_error.offset, std::move(template_error.message));
  f.compiled = std::move(*compiled);
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
  const LogFacts facts{ctx.log, ctx.time, ctx.request_time_ms};
  const VariableContext vars{ctx.request, &facts};
  if (format.kind == LogFormat::Kind::json) {
    render_json(ctx, vars, out);
    return;
  }
  render_template(format, vars, out);
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
