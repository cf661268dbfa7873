#pragma once
// A response a handler produces. The HTTP layer adds Date, Server, Content-Length and Connection,
// drops the body for HEAD (keeping its length) and for 1xx/204/304, and sends file bodies with
// sendfile (small ones are copied into the header write).
#include <cstdint>
#include <string>

#include "core/unique_fd.hpp"
#include "http/header_list.hpp"

namespace serverd {

struct Response {
  int status = 200;
  HeaderList headers;
  std::string body;  // used when file is not set
  UniqueFd file;     // when set: bytes [file_offset, file_offset + file_length)
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;
  bool close_connection = false;  // e.g. after a 400: send, then close

  std::uint64_t body_length() const { return file ? file_length : body.size(); }
};

// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
inline bool status_has_no_body(int status) {
  return status < 200 || status == 204 || status == 304;
}

// Reason phrase for a status code ("Not Found"); "Unknown" for codes without one.
std::string_view status_reason(int status);
// A small HTML error page body, as nginx sends: "<html>...<h1>404 Not Found</h1>...".
std::string error_page_body(int status);
// A response with the standard error page (text/html).
Response make_error_response(int status);

}  // namespace serverd
