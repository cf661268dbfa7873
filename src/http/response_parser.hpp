#pragma once
// llhttp glue for responses (an upstream's answer to a proxied request). Pull style, like
// RequestParser: feed() stops at each event (the end of the head, each body span, the end of
// the message, the switch to another protocol) and says how much of the input it used, so the
// caller acts on the event and feeds the rest. No callback into the caller, no allocation
// beyond the header strings. Interim responses (100 Continue, 103 Early Hints) are skipped.
#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "http/header_list.hpp"
#include "http/line_ends.hpp"

namespace serverd {

class ResponseParser {
 public:
  enum class Event {
    need_more,  // all input used, nothing happened yet
    head,       // the final response's head is complete: status(), headers(), body_length()
    body,       // Result::body is a span of the (de-chunked) body
    complete,   // the message ended; what follows is not part of it
    upgrade,    // a 101 to an upgrade request: what follows is the other protocol
    error,      // error_reason(); nothing more can be parsed
  };
  struct Result {
    Event event;
    std::size_t consumed;   // bytes of the input used; the rest belongs to later calls
    std::string_view body;  // Event::body only; points into the input
  };

  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Starts a new response. A response to HEAD has no body whatever its headers say; a 101 is
  // accepted only for an upgrade request.
  void start(bool head_request, bool upgrade_request);
  Result feed(std::string_view data);
  // The connection ended: true when that completes a body delimited by the end of the
  // connection (no Content-Length, not chunked).
  bool finish();

  int status() const { return parser_.status_code; }
  std::vector<Header>& headers() { return headers_; }
  // Known length of the body to forward: Content-Length (when not chunked), 0 for HEAD, 204
  // and 304; unknown otherwise.
  std::optional<std::uint64_t> body_length() const { return body_length_; }
  // After Event::complete: the upstream connection may carry another request.
  bool keep_alive() const { return llhttp_should_keep_alive(&parser_) != 0; }
  std::string_view error_reason() const { return error_reason_; }

 private:
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  llhttp_t parser_;
  std::vector<Header> headers_;
  std::optional<std::uint64_t> body_length_;
  std::string_view body_;
  std::string_view error_reason_;
  Event paused_at_ = Event::need_more;
  bool head_request_ = false;
  bool upgrade_request_ = false;
  bool in_value_ = false;
  bool interim_ = false;
  bool switching_ = false;
  bool failed_ = false;
  bool head_done_ = false;          // the final head (or a 101's) is complete
  LineEndCheck line_ends_;          // over every head byte, interim heads included
  const char* rejected_ = nullptr;  // why a callback refused the head
};

}  // namespace serverd
