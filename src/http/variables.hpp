#pragma once
// nginx-style variables in config templates ("https://$host$request_uri").
//
//   $request_uri     raw request target, query included ("/a%20b?x=1")
//   $uri             decoded, normalised path ("/a b")
//   $args            raw query without '?'   ($query_string is the same)
//   $is_args         "?" when there is a query, else empty
//   $host            Host header host (lower-case, no port), else the local address
//   $scheme          "http" / "https"
//   $server_addr     local address;  $server_port  local port
//   $remote_addr     peer address;   $remote_port  peer port
//   $request_method  "GET"
//   $server_protocol "HTTP/1.1"
//   $http_<name>     first header <name>, '_' matching '-', case-insensitive; empty if absent
//   $https           "on" on a TLS connection, else empty
//   $ssl_protocol    "TLSv1.3";  $ssl_cipher  "TLS_AES_128_GCM_SHA256"
//   $ssl_server_name the client's SNI name
//   $ssl_client_s_dn the verified client certificate's subject (RFC 2253), else empty
//   $ssl_client_verify "SUCCESS" with a verified client certificate, "NONE" without one
//   $ssl_session_reused "r" when the TLS session was resumed, else "."
//   $1..$9           groups of the server_name regex that selected the server (numbered only:
//                    std::regex has no named groups); empty when there is none
//
// `${name}` delimits a name followed by name characters ("${uri}x"). An unknown variable, a
// lone '$' or an unterminated "${" is copied as written, so a template never fails to expand.
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace serverd {

std::string expand_variables(std::string_view tmpl, const Request& request,
                             std::string_view scheme);

// Appends the expansion to `out` (lets callers reuse a buffer).
void append_expanded(std::string& out, std::string_view tmpl, const Request& request,
                     std::string_view scheme);

}  // namespace serverd
