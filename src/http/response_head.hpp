#pragma once
// The HTTP/1.1 response head a connection sends, for complete and streamed answers alike:
// status line, Server, Date, the module's headers (minus the framing headers, which are the
// connection's alone so that no module can desynchronise it), the body framing and the
// Connection header.
#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "http/response.hpp"

namespace serverd {

enum class BodyFraming {
  none,     // no body (1xx, 204, 304, a 101 tunnel)
  length,   // Content-Length
  chunked,  // Transfer-Encoding: chunked
  close,    // HTTP/1.0 with an unknown length: the body ends with the connection
};

struct HeadOptions {
  std::string_view date;  // IMF-fixdate
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;  // BodyFraming::length only
  bool keep_alive = false;
  bool http10 = false;  // the request was HTTP/1.0: keep-alive must be said
};

// Appends the head, up to and including the empty line, to `out`.
void write_response_head(fmt::memory_buffer& out, const Response& response,
                         const HeadOptions& options);

}  // namespace serverd
