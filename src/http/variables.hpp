#pragma once
// nginx-style variables in config templates ("https://$host$request_uri"): one engine for
// `return`, `add_header`, `proxy_set_header`, the upstream `hash_key` and the access log.
// A template is compiled once when the config loads (literal text and references to entries of
// one variable table, `$http_<name>` with its header name already folded) and evaluated per
// request by table index, without looking at a name again.
//
//   $request_uri     raw request target, query included ("/a%20b?x=1")
//   $uri             decoded, normalised path ("/a b")
//   $args            raw query without '?'   ($query_string is the same)
//   $is_args         "?" when there is a query, else empty
//   $host            Host header host (lower-case, no port), else the local address
//   $scheme          "https" on a TLS connection, else "http"
//   $server_addr     local address;  $server_port  local port
//   $remote_addr     peer address;   $remote_port  peer port
//   $request_method  "GET"
//   $server_protocol "HTTP/1.1" (empty before a request line was read)
//   $http_<name>     first header <name>, '_' matching '-', case-insensitive; empty if absent
//   $https           "on" on a TLS connection, else empty
//   $ssl_protocol    "TLSv1.3";  $ssl_cipher  "TLS_AES_128_GCM_SHA256"
//   $ssl_server_name the client's SNI name
//   $ssl_client_s_dn the verified client certificate's subject (RFC 2253), else empty
//   $ssl_client_verify "SUCCESS" with a verified client certificate, "NONE" without one
//   $ssl_session_reused "r" when the TLS session was resumed, else "."
//
// Only in the access log (it knows how the exchange ended):
//   $remote_user (always empty: there is no authentication)
//   $time_local ("10/Oct/2000:13:55:36 -0700") $time_iso8601 ("2000-10-10T13:55:36-07:00")
//   $msec ("971211336.123") $request ("GET /a?x=1 HTTP/1.1")
//   $status ("000" before a response) $body_bytes_sent $request_time ("0.012", seconds)
//   $upstream_addr $upstream_response_time ("0.012", seconds; empty without an upstream)
//
// `${name}` delimits a name followed by name characters ("${uri}x"). Outside the log an
// unknown variable, a lone '$' or an unterminated "${" is copied as written, so a template
// never fails to compile; the log's stricter compiler reports them as errors instead.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace serverd {

struct ExchangeLog;

// The entries of the variable table; `literal` marks a template's literal text.
enum class VarId : std::uint8_t {
  literal,
  request_uri,
  uri,
  args,
  is_args,
  host,
  scheme,
  server_addr,
  server_port,
  remote_addr,
  remote_port,
  request_method,
  server_protocol,
  http_header,  // $http_<name>: the folded name is the segment's text
  https,
  ssl_protocol,
  ssl_cipher,
  ssl_server_name,
  ssl_client_s_dn,
  ssl_client_verify,
  ssl_session_reused,
  // Access log only.
  remote_user,
  time_local,
  time_iso8601,
  msec,
  request,
  status,
  body_bytes_sent,
  request_time,
  upstream_addr,
  upstream_response_time,
};

struct TemplateSegment {
  VarId var = VarId::literal;
  std::string text;  // the literal text, or for $http_<name> the folded header name
  bool is_literal() const { return var == VarId::literal; }
};

struct CompiledTemplate {
  std::vector<TemplateSegment> segments;
};

// A template for `return`, `add_header`, `proxy_set_header` or `hash_key` (the log's own
// variables are not known there and stay literal text, as every other unknown name).
CompiledTemplate compile_template(std::string_view tmpl);

struct TemplateError {
  std::size_t offset = 0;  // byte offset of the problem in the template
  std::string message;
};

// A template of the access log: every variable is known, and an unknown or malformed
// reference is an error (nullopt, with `error` saying what and where).
std::optional<CompiledTemplate> compile_log_template(std::string_view tmpl, TemplateError* error);

// The wall-clock time of a log line (formatted once per second by the access log).
struct LogTime {
  std::int64_t epoch_ms = 0;
  std::string_view local;    // "10/Oct/2000:13:55:36 -0700"
  std::string_view iso8601;  // "2000-10-10T13:55:36-07:00"
};

// What only the access log knows: how the exchange ended and when.
struct LogFacts {
  const ExchangeLog& log;
  LogTime time;
  std::int64_t request_time_ms = 0;  // from the first request byte to the log call
};

// What a template is evaluated against. The connection's facts come with the request: its
// TlsSession (Request::tls(), set by the HTTP layer) decides $scheme, $https and $ssl_*.
struct VariableContext {
  const Request& request;
  const LogFacts* log = nullptr;  // the access log's facts; without them its variables are empty
};

// Appends the template's expansion to `out` (lets callers reuse a buffer).
void evaluate(const CompiledTemplate& tmpl, const VariableContext& ctx, std::string& out);
std::string evaluate(const CompiledTemplate& tmpl, const VariableContext& ctx);

// Appends one segment's value: its text for a literal, else the variable's raw value (the
// access log escapes each value on its own).
void append_segment(const TemplateSegment& segment, const VariableContext& ctx, std::string& out);

// The first header whose name folds ('-' as '_', case-insensitive) to `folded` (lower-case).
std::optional<std::string_view> find_folded_header(const Request& request, std::string_view folded);

// compile_template + evaluate, for templates used once (and tests).
std::string expand_variables(std::string_view tmpl, const Request& request);

}  // namespace serverd
