#pragma once
// Header rewriting in both directions: hop-by-hop headers never cross the proxy (RFC 9110
// §7.6.1: Connection and the headers it names, Keep-Alive, TE, Trailer, Transfer-Encoding,
// Upgrade, Proxy-*); the request gains X-Forwarded-For/-Proto/-Host and X-Real-IP; the
// operator's proxy_set_header / proxy_hide_header apply last.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/header_list.hpp"
#include "http/request.hpp"

namespace serverd {

struct ForwardContext {
  std::string_view client_ip;
  std::string_view scheme;  // "http"/"https" as the client spoke it
  bool upgrade = false;     // pass Upgrade through (WebSocket handshake)
  // proxy_set_header, values already expanded; an empty value removes the header.
  const std::vector<std::pair<std::string, std::string>>* set_headers = nullptr;
};

bool is_hop_by_hop(std::string_view name);

// The header block for the upstream request (no request line, no framing headers: the proxy
// adds Content-Length or Transfer-Encoding itself).
HeaderList upstream_request_headers(const Request& request, const ForwardContext& context);

// "METHOD URI HTTP/1.1\r\n" + headers + framing + Connection + "\r\n".
std::string build_upstream_head(std::string_view method, std::string_view uri,
                                const HeaderList& headers, const Request& request, bool upgrade);

// The upstream response's headers as the client gets them. Date and Server are the proxy's own
// (the HTTP layer adds them), framing headers too.
HeaderList client_response_headers(const std::vector<Header>& upstream, bool switching,
                                   const std::vector<std::string>& hide);

}  // namespace serverd
