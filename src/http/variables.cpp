#include "http/variables.hpp"

#include "tls/tls_session.hpp"

#include <fmt/format.h>

#include <iterator>

namespace serverd {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char fold(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c | 0x20);
  if (c == '-') return '_';
  return c;
}

// nginx's $http_x_real_ip matches "X-Real-IP": case folded, '-' read as '_'.
bool header_name_matches(std::string_view header, std::string_view var_suffix) {
  if (header.size() != var_suffix.size()) return false;
  for (std::size_t i = 0; i < header.size(); ++i)
    if (fold(header[i]) != fold(var_suffix[i])) return false;
  return true;
}

// Appends the value of variable `name`; false when the name is unknown.
bool append_variable(std::string& out, std::string_view name, const Request& request,
                     std::string_view scheme) {
  constexpr std::string_view kHttpPrefix = "http_";
  if (name.size() == 1 && name[0] >= '1' && name[0] <= '9') {
    // A capture of the server_name regex that chose the server; empty when there is none.
    const auto& groups = request.server_name_captures_;
    const auto n = static_cast<std::size_t>(name[0] - '0');
    if (n < groups.size()) out.append(groups[n]);
    return true;
  }
  if (name.starts_with(kHttpPrefix) && name.size() > kHttpPrefix.size()) {
    const std::string_view wanted = name.substr(kHttpPrefix.size());
    for (const auto& h : request.headers()) {
      if (header_name_matches(h.name, wanted)) {
        out.append(h.value);
        break;
      }
    }
    return true;
  }
  if (name == "request_uri") {
    out.append(request.target());
  } else if (name == "uri") {
    out.append(request.path());
  } else if (name == "args" || name == "query_string") {
    out.append(request.query());
  } else if (name == "is_args") {
    if (!request.query().empty()) out.push_back('?');
  } else if (name == "host") {
    if (!request.host().empty())
      out.append(request.host());
    else
      out.append(request.local().host_string());
  } else if (name == "scheme") {
    out.append(scheme);
  } else if (name == "server_addr") {
    out.append(request.local().host_string());
  } else if (name == "server_port") {
    fmt::format_to(std::back_inserter(out), "{}", request.local().port());
  } else if (name == "remote_addr") {
    out.append(request.peer().host_string());
  } else if (name == "remote_port") {
    fmt::format_to(std::back_inserter(out), "{}", request.peer().port());
  } else if (name == "request_method") {
    out.append(request.method());
  } else if (name == "server_protocol") {
    out.append(request.version_string());
  } else if (name == "https") {
    if (request.tls() != nullptr) out.append("on");
  } else if (name.starts_with("ssl_")) {
    const TlsSession* tls = request.tls();
    if (name == "ssl_client_s_dn") {
      if (tls) out.append(tls->client_subject());
    } else if (name == "ssl_client_verify") {
      if (tls) out.append(tls->client_subject().empty() ? "NONE" : "SUCCESS");
    } else if (name == "ssl_protocol") {
      if (tls) out.append(tls->protocol());
    } else if (name == "ssl_cipher") {
      if (tls) out.append(tls->cipher());
    } else if (name == "ssl_server_name") {
      if (tls) out.append(tls->server_name());
    } else if (name == "ssl_session_reused") {
      if (tls) out.append(tls->reused() ? "r" : ".");
    } else {
      return false;
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

void append_expanded(std::string& out, std::string_view tmpl, const Request& request,
                     std::string_view scheme) {
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t dollar = tmpl.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(tmpl.substr(i));
      return;
    }
    out.append(tmpl.substr(i, dollar - i));
    std::size_t name_begin = dollar + 1;
    std::size_t name_end = name_begin;
    std::size_t next = 0;  // where copying resumes after the reference
    if (name_begin < tmpl.size() && tmpl[name_begin] == '{') {
      ++name_begin;
      const std::size_t close = tmpl.find('}', name_begin);
      name_end = close == std::string_view::npos ? name_begin : close;
      next = close == std::string_view::npos ? name_begin : close + 1;
      // Only a well-formed "${name}" counts; anything else is literal text.
      for (std::size_t k = name_begin; k < name_end; ++k)
        if (!is_name_char(tmpl[k])) name_end = name_begin;
    } else if (name_begin < tmpl.size() && tmpl[name_begin] >= '1' && tmpl[name_begin] <= '9') {
      name_end = name_begin + 1;  // "$1st" is capture 1 followed by "st", as in nginx
      next = name_end;
    } else {
      while (name_end < tmpl.size() && is_name_char(tmpl[name_end])) ++name_end;
      next = name_end;
    }
    const std::string_view name = tmpl.substr(name_begin, name_end - name_begin);
    if (name.empty() || !append_variable(out, name, request, scheme)) {
      // Copy the '$' only and rescan after it, so "$$uri" still expands its second reference.
      out.push_back('$');
      i = dollar + 1;
      continue;
    }
    i = next;
  }
}

std::string expand_variables(std::string_view tmpl, const Request& request,
                             std::string_view scheme) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  append_expanded(out, tmpl, request, scheme);
  return out;
}

}  // namespace serverd
