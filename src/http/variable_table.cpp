#include "http/variable_table.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>

#include "http/exchange.hpp"
#include "tls/tls_session.hpp"

namespace serverd {
namespace {

struct Entry {
  std::string_view name;
  VarId id;
  bool log_only = false;
};

constexpr Entry kTable[] = {
    {"request_uri", VarId::request_uri},
    {"uri", VarId::uri},
    {"args", VarId::args},
    {"query_string", VarId::args},
    {"is_args", VarId::is_args},
    {"host", VarId::host},
    {"scheme", VarId::scheme},
    {"server_addr", VarId::server_addr},
    {"server_port", VarId::server_port},
    {"remote_addr", VarId::remote_addr},
    {"remote_port", VarId::remote_port},
    {"request_method", VarId::request_method},
    {"server_protocol", VarId::server_protocol},
    {"https", VarId::https},
    {"ssl_protocol", VarId::ssl_protocol},
    {"ssl_cipher", VarId::ssl_cipher},
    {"ssl_server_name", VarId::ssl_server_name},
    {"ssl_client_s_dn", VarId::ssl_client_s_dn},
    {"ssl_client_verify", VarId::ssl_client_verify},
    {"ssl_session_reused", VarId::ssl_session_reused},
    {"remote_user", VarId::remote_user, true},
    {"time_local", VarId::time_local, true},
    {"time_iso8601", VarId::time_iso8601, true},
    {"msec", VarId::msec, true},
    {"request", VarId::request, true},
    {"status", VarId::status, true},
    {"body_bytes_sent", VarId::body_bytes_sent, true},
    {"request_time", VarId::request_time, true},
    {"upstream_addr", VarId::upstream_addr, true},
    {"upstream_response_time", VarId::upstream_response_time, true},
};

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

// The host part of an address, formatted on the stack (no allocation per request).
void append_host(std::string& out, const SocketAddress& a) {
  char buf[INET6_ADDRSTRLEN + 8];
  if (a.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a.get());
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) out.append(buf);
  } else if (a.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.get());
    if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) out.append(buf);
  } else if (a.family() == AF_UNIX) {
    out.append("unix:");
  }
}

void append_request_line(std::string& out, const Request& r) {
  if (r.method().empty()) return;
  out.append(r.method());
  out.push_back(' ');
  out.append(r.target());
  out.push_back(' ');
  out.append(r.version_string());
}

void append_tls(std::string& out, VarId id, const TlsSession* tls) {
  if (tls == nullptr) return;
  switch (id) {
    case VarId::https:
      out.append("on");
      break;
    case VarId::ssl_protocol:
      out.append(tls->protocol());
      break;
    case VarId::ssl_cipher:
      out.append(tls->cipher());
      break;
    case VarId::ssl_server_name:
      out.append(tls->server_name());
      break;
    case VarId::ssl_client_s_dn:
      out.append(tls->client_subject());
      break;
    case VarId::ssl_client_verify:
      out.append(tls->client_subject().empty() ? "NONE" : "SUCCESS");
      break;
    case VarId::ssl_session_reused:
      out.append(tls->reused() ? "r" : ".");
      break;
    default:
      break;
  }
}

void append_log(std::string& out, VarId id, const VariableContext& ctx) {
  if (ctx.log == nullptr) return;
  const LogFacts& facts = *ctx.log;
  const ExchangeLog& log = facts.log;
  switch (id) {
    case VarId::time_local:
      out.append(facts.time.local);
      break;
    case VarId::time_iso8601:
      out.append(facts.time.iso8601);
      break;
    case VarId::msec:
      append_seconds_ms(out, facts.time.epoch_ms);
      break;
    case VarId::status:
      append_status(out, log.status);
      break;
    case VarId::body_bytes_sent:
      append_int(out, log.body_bytes_sent);
      break;
    case VarId::request_time:
      append_seconds_ms(out, facts.request_time_ms);
      break;
    case VarId::upstream_addr:
      out.append(log.upstream_addr);
      break;
    case VarId::upstream_response_time:
      if (log.upstream_response_time_us >= 0)
        append_seconds_ms(out, log.upstream_response_time_us / 1000);
      break;
    default:
      break;
  }
}

}  // namespace

std::optional<VarId> find_variable(std::string_view name, bool in_log) {
  for (const Entry& e : kTable)
    if (e.name == name) {
      if (e.log_only && !in_log) return std::nullopt;
      return e.id;
    }
  return std::nullopt;
}

std::string fold_header_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) out.push_back(fold(c));
  return out;
}

std::optional<std::string_view> find_folded_header(const Request& request,
                                                   std::string_view folded) {
  for (const auto& h : request.headers())
    if (header_matches(h.name, folded)) return h.value;
  return std::nullopt;
}

void append_segment(const TemplateSegment& seg, const VariableContext& ctx, std::string& out) {
  const Request& r = ctx.request;
  switch (seg.var) {
    case VarId::literal:
      out.append(seg.text);
      break;
    case VarId::request_uri:
      out.append(r.target());
      break;
    case VarId::uri:
      out.append(r.path());
      break;
    case VarId::args:
      out.append(r.query());
      break;
    case VarId::is_args:
      if (!r.query().empty()) out.push_back('?');
      break;
    case VarId::host:
      if (!r.host().empty())
        out.append(r.host());
      else
        append_host(out, r.local());
      break;
    case VarId::scheme:
      out.append(r.tls() != nullptr ? "https" : "http");
      break;
    case VarId::server_addr:
      append_host(out, r.local());
      break;
    case VarId::server_port:
      append_int(out, r.local().port());
      break;
    case VarId::remote_addr:
      append_host(out, r.peer());
      break;
    case VarId::remote_port:
      append_int(out, r.peer().port());
      break;
    case VarId::request_method:
      out.append(r.method());
      break;
    case VarId::server_protocol:
      if (!r.method().empty()) out.append(r.version_string());
      break;
    case VarId::http_header:
      if (auto v = find_folded_header(r, seg.text)) out.append(*v);
      break;
    case VarId::https:
    case VarId::ssl_protocol:
    case VarId::ssl_cipher:
    case VarId::ssl_server_name:
    case VarId::ssl_client_s_dn:
    case VarId::ssl_client_verify:
    case VarId::ssl_session_reused:
      append_tls(out, seg.var, r.tls());
      break;
    case VarId::remote_user:
      break;
    case VarId::request:
      append_request_line(out, r);
      break;
    case VarId::time_local:
    case VarId::time_iso8601:
    case VarId::msec:
    case VarId::status:
    case VarId::body_bytes_sent:
    case VarId::request_time:
    case VarId::upstream_addr:
    case VarId::upstream_response_time:
      append_log(out, seg.var, ctx);
      break;
  }
}

}  // namespace serverd
