#include "http/request_parser.hpp"

#include <cctype>

#include "http/header_list.hpp"
#include "http/uri.hpp"

namespace serverd {

namespace {
RequestParser& self(llhttp_t* p) {
  return *static_cast<RequestParser*>(p->data);
}

bool contains_token(std::string_view list, std::string_view token) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}
}  // namespace

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t v;
    llhttp_settings_init(&v);
    v.on_url = &RequestParser::on_url;
    v.on_header_field = &RequestParser::on_header_field;
    v.on_header_value = &RequestParser::on_header_value;
    v.on_headers_complete = &RequestParser::on_headers_complete;
    v.on_body = &RequestParser::on_body;
    v.on_message_complete = &RequestParser::on_message_complete;
    return v;
  }();
  return s;
}

RequestParser::RequestParser() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
}

void RequestParser::start(Request* request, const Limits& limits) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
  request_ = request;
  request_->reset();
  limits_ = limits;
  max_body_size_ = 0;
  head_bytes_ = body_bytes_ = bytes_seen_ = 0;
  in_value_ = head_done_ = message_done_ = failed_ = false;
  line_ends_.reset();
  error_status_ = 0;
  error_reason_ = {};
  sink_ = nullptr;
}

int RequestParser::fail(int status, std::string_view reason) {
  if (!failed_) {
    failed_ = true;
    error_status_ = status;
    error_reason_ = reason;
  }
  return -1;
}

bool RequestParser::head_limit_exceeded(const char* end) {
  // Bytes of the head so far, request line included, however the bytes were split into reads.
  head_bytes_ = std::max<std::uint64_t>(
      head_bytes_, bytes_before_ + static_cast<std::uint64_t>(end - data_begin_));
  return head_bytes_ > limits_.max_header_size;
}

namespace {
std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}
}  // namespace

RequestParser::Result RequestParser::feed(std::string_view data) {
  if (failed_) return {Status::error, 0};
  if (message_done_) return {Status::message_complete, 0};
  const bool was_head_done = head_done_;
  bytes_before_ = bytes_seen_;
  data_begin_ = data.data();
  bytes_seen_ += data.size();
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  std::size_t consumed = data.size();
  if (err == HPE_PAUSED) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
    llhttp_resume(&parser_);
  } else if (err != HPE_OK) {
    if (!failed_) {
      // Smuggling-shaped requests (CL+TE, two Content-Lengths, bad chunk sizes) land here too:
      // they are rejected, never guessed at.
      fail(400, llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_)
                                                  : llhttp_errno_name(err));
    }
    return {Status::error, 0};
  }
  bytes_seen_ -= data.size() - consumed;
  // Every head byte llhttp took in this call: all of it while the head is incomplete, and up to
  // the pause (end of head, or end of a body-less message) once it is complete.
  // llhttp's non-strict build takes bare LF and obs-fold (see line_ends.hpp).
  if (!was_head_done) {
    if (const char* wrong = line_ends_.feed(data.substr(0, consumed))) {
      fail(400, wrong);
      return {Status::error, 0};
    }
  }
  if (!head_done_) {
    // The whole head (request line + headers) counts, including what llhttp skips silently.
    head_bytes_ = std::max<std::uint64_t>(head_bytes_, bytes_seen_);
    if (head_bytes_ > limits_.max_header_size) {
      fail(431, "request header block too large");
      return {Status::error, 0};
    }
    return {Status::need_more, consumed};
  }
  if (message_done_) return {Status::message_complete, consumed};
  if (err == HPE_PAUSED) return {Status::headers_complete, consumed};
  return {Status::need_more, consumed};
}

int RequestParser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.request_->target_.size() + len > s.limits_.max_uri_length)
    return s.fail(414, "request URI too long");
  if (s.head_limit_exceeded(at + len)) return s.fail(431, "request header block too large");
  s.request_->target_.append(at, len);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.head_done_) return 0;  // a chunked body's trailers: read and ignored
  if (s.head_limit_exceeded(at + len)) return s.fail(431, "request header block too large");
  auto& r = *s.request_;
  if (s.in_value_ || r.header_offsets_.empty()) {
    auto pos = static_cast<std::uint32_t>(r.header_arena_.size());
    r.header_offsets_.emplace_back(pos, pos);
    s.in_value_ = false;
  }
  r.header_arena_.append(at, len);
  r.header_offsets_.back().first = static_cast<std::uint32_t>(r.header_arena_.size());
  r.header_offsets_.back().second = r.header_offsets_.back().first;
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.head_done_) return 0;
  if (s.head_limit_exceeded(at + len)) return s.fail(431, "request header block too large");
  auto& r = *s.request_;
  if (r.header_offsets_.empty()) return s.fail(400, "header value without a name");
  s.in_value_ = true;
  r.header_arena_.append(at, len);
  r.header_offsets_.back().second = static_cast<std::uint32_t>(r.header_arena_.size());
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  auto& s = self(p);
  int rc = s.finish_head();
  if (rc != 0) return rc;
  s.head_done_ = true;
  // Without a body llhttp completes the message right away and pauses there; with one, stop
  // here so the connection routes the request (and checks its size) before any body byte.
  return s.request_->has_body() ? HPE_PAUSED : 0;
}

int RequestParser::finish_head() {
  Request& r = *request_;
  // The arena no longer grows: views into it are stable from here on.
  std::uint32_t start = 0;
  r.headers_.reserve(r.header_offsets_.size());
  for (auto [name_end, value_end] : r.header_offsets_) {
    std::string_view arena(r.header_arena_);
    // llhttp strips leading whitespace of a value but keeps trailing (RFC 9110 §5.5: not part
    // of the value).
    r.headers_.push_back({arena.substr(start, name_end - start),
                          trim_ows(arena.substr(name_end, value_end - name_end))});
    start = value_end;
  }
  // llhttp (non-strict build) lets "Host : x" and "Bad Name: x" through; a field name is a
  // token, and anything else is a smuggling vector (RFC 9112 §5.1).
  for (const auto& h : r.headers_) {
    if (h.name.empty()) return fail(400, "empty header field name");
    if (!is_token(h.name)) return fail(400, "invalid header field name");
  }
  r.major_ = llhttp_get_http_major(&parser_);
  r.minor_ = llhttp_get_http_minor(&parser_);
  // An HTTP/0.9 request line has no version at all: malformed for HTTP/1.x (as HAProxy says).
  if (r.major_ == 0) return fail(400, "HTTP/0.9 request");
  if (r.major_ != 1) return fail(505, "unsupported HTTP version");
  r.method_ = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(&parser_)));
  if (r.method_ == "CONNECT") return fail(405, "CONNECT is not supported");

  SplitTarget target;
  if (!split_target(r.target_, target)) return fail(400, "invalid request target");
  if (!normalize_path(target.path, r.path_)) return fail(400, "invalid request path");
  r.query_.assign(target.query);

  int host_count = 0;
  std::string_view host_value;
  for (const auto& h : r.headers_) {
    if (iequals(h.name, "host")) {
      ++host_count;
      host_value = h.value;
    } else if (iequals(h.name, "expect")) {
      if (!iequals(h.value, "100-continue")) return fail(417, "unsupported expectation");
      r.expect_continue_ = r.minor_ >= 1;
    }
  }
  if (host_count > 1) return fail(400, "more than one Host header");
  if (r.minor_ >= 1 && host_count == 0 && target.host.empty())
    return fail(400, "HTTP/1.1 request without Host");
  // An absolute-form target's authority wins over the Host header (RFC 9112 §3.2.2).
  std::string_view authority = target.host.empty() ? host_value : target.host;
  if (!authority.empty() && !parse_host(authority, r.host_)) return fail(400, "invalid Host");

  if ((parser_.flags & F_TRANSFER_ENCODING) && r.minor_ == 0) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (parser_.flags & F_CHUNKED) {
    // Only "chunked" itself is a coding serverd (and the upstream, after re-framing) can undo;
    // "gzip, chunked" would reach the upstream as a different body (nginx answers 501 too).
    for (const auto& h : r.headers_)
      if (iequals(h.name, "transfer-encoding") && !iequals(h.value, "chunked"))
        return fail(501, "unsupported Transfer-Encoding");
    r.chunked_ = true;
  } else if (parser_.flags & F_CONTENT_LENGTH) {
    r.content_length_ = parser_.content_length;
  } else if (parser_.flags & F_TRANSFER_ENCODING) {
    // A request Transfer-Encoding that does not end in chunked has no knowable length.
    return fail(400, "request Transfer-Encoding without chunked");
  }
  r.keep_alive_ = llhttp_should_keep_alive(&parser_) != 0;
  r.upgrade_ = parser_.upgrade != 0;
  if (r.minor_ == 0) {
    auto conn = r.header("connection");
    r.keep_alive_ = conn && contains_token(*conn, "keep-alive");
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  s.body_bytes_ += len;
  if (s.max_body_size_ != 0 && s.body_bytes_ > s.max_body_size_)
    return s.fail(413, "request body too large");
  if (s.sink_) s.sink_->on_body({at, len});
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  auto& s = self(p);
  s.message_done_ = true;
  return HPE_PAUSED;
}

}  // namespace serverd
