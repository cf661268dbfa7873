#pragma once
// llhttp glue for requests: fills a Request, enforces the URI and header-block limits while
// bytes arrive (414, 431), the body limit for chunked bodies (413), and turns every parse error
// into the status code to answer with. Pauses at the end of the head and of the message so the
// connection decides what happens next (routing, 100-continue, pipelining).
#include <llhttp.h>

#include <cstdint>
#include <string_view>

#include "http/line_ends.hpp"
#include "http/request.hpp"

namespace serverd {

class BodySink {
 public:
  virtual void on_body(std::string_view chunk) = 0;

 protected:
  ~BodySink() = default;
};

class RequestParser {
 public:
  struct Limits {
    std::uint64_t max_uri_length = 8 * 1024;
    std::uint64_t max_header_size = 16 * 1024;
  };
  enum class Status { need_more, headers_complete, message_complete, error };
  struct Result {
    Status status;
    std::size_t consumed;  // bytes of the input used; the rest belongs to later calls
  };

  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Starts a new request (the previous one, if any, is forgotten).
  void start(Request* request, const Limits& limits);
  Result feed(std::string_view data);

  // Set after routing: bodies beyond this many bytes fail with 413 (0 = unlimited).
  void set_max_body_size(std::uint64_t max) { max_body_size_ = max; }
  void set_body_sink(BodySink* sink) { sink_ = sink; }

  bool head_complete() const { return head_done_; }
  bool started() const { return bytes_seen_ > 0; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  int error_status() const { return error_status_; }
  // Why the request was rejected, for the error log.
  std::string_view error_reason() const { return error_reason_; }

 private:
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  int fail(int status, std::string_view reason);
  int finish_head();
  bool head_limit_exceeded(const char* end);

  llhttp_t parser_;
  Request* request_ = nullptr;
  BodySink* sink_ = nullptr;
  Limits limits_;
  std::uint64_t max_body_size_ = 0;
  std::uint64_t head_bytes_ = 0;
  std::uint64_t bytes_before_ = 0;  // fed before the current feed() call
  const char* data_begin_ = nullptr;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t bytes_seen_ = 0;
  bool in_value_ = false;
  LineEndCheck line_ends_;
  bool head_done_ = false;
  bool message_done_ = false;
  bool failed_ = false;
  int error_status_ = 0;
  std::string_view error_reason_;
};

}  // namespace serverd
