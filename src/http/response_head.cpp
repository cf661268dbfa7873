#include "http/response_head.hpp"

#include <iterator>

namespace serverd {

void write_response_head(fmt::memory_buffer& head, const Response& r, const HeadOptions& o) {
  auto out = std::back_inserter(head);
  fmt::format_to(out, "HTTP/1.1 {} {}\r\nServer: serverd\r\nDate: {}\r\n", r.status,
                 status_reason(r.status), o.date);
  const bool switching = r.status == 101;
  for (const auto& h : r.headers) {
    if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding") ||
        iequals(h.name, "connection") || (!switching && iequals(h.name, "upgrade")))
      continue;
    fmt::format_to(out, "{}: {}\r\n", h.name, h.value);
  }
  if (o.framing == BodyFraming::length)
    fmt::format_to(out, "Content-Length: {}\r\n", o.content_length);
  if (o.framing == BodyFraming::chunked) fmt::format_to(out, "Transfer-Encoding: chunked\r\n");
  if (switching)
    fmt::format_to(out, "Connection: upgrade\r\n\r\n");
  else if (!o.keep_alive)
    fmt::format_to(out, "Connection: close\r\n\r\n");
  else if (o.http10)
    fmt::format_to(out, "Connection: keep-alive\r\n\r\n");
  else
    fmt::format_to(out, "\r\n");
}

}  // namespace serverd
