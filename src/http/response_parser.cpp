#include "http/response_parser.hpp"

namespace serverd {

namespace {
ResponseParser& self(llhttp_t* p) {
  return *static_cast<ResponseParser*>(p->data);
}
}  // namespace

const llhttp_settings_t& ResponseParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t v;
    llhttp_settings_init(&v);
    v.on_header_field = &ResponseParser::on_header_field;
    v.on_header_value = &ResponseParser::on_header_value;
    v.on_headers_complete = &ResponseParser::on_headers_complete;
    v.on_body = &ResponseParser::on_body;
    v.on_message_complete = &ResponseParser::on_message_complete;
    return v;
  }();
  return s;
}

ResponseParser::ResponseParser() {
  start(false, false);
}

void ResponseParser::start(bool head_request, bool upgrade_request) {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
  headers_.clear();
  body_length_.reset();
  body_ = {};
  error_reason_ = {};
  paused_at_ = Event::need_more;
  head_request_ = head_request;
  upgrade_request_ = upgrade_request;
  in_value_ = interim_ = switching_ = failed_ = head_done_ = false;
  line_ends_.reset();
  rejected_ = nullptr;
}

ResponseParser::Result ResponseParser::feed(std::string_view data) {
  if (failed_) return {Event::error, 0, {}};
  paused_at_ = Event::need_more;
  const bool was_head_done = head_done_;
  const llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  const char* pos = err == HPE_OK ? nullptr : llhttp_get_error_pos(&parser_);
  const std::size_t used = pos ? static_cast<std::size_t>(pos - data.data()) : data.size();
  // llhttp's non-strict build takes bare LF and obs-fold in a head (see line_ends.hpp): a
  // response another parser could split differently is malformed, not forwarded.
  if (!was_head_done) {
    if (const char* wrong = line_ends_.feed(data.substr(0, used))) {
      failed_ = true;
      error_reason_ = wrong;
      return {Event::error, 0, {}};
    }
  }
  if (err == HPE_OK) return {Event::need_more, data.size(), {}};
  if (err == HPE_PAUSED) {
    const Event event = paused_at_;
    // After the end of the message the parser stays paused: the rest is not this response's.
    if (event != Event::complete) llhttp_resume(&parser_);
    return {event, used, event == Event::body ? body_ : std::string_view()};
  }
  if (err == HPE_PAUSED_UPGRADE && switching_) return {Event::upgrade, used, {}};
  failed_ = true;
  error_reason_ = rejected_                           ? rejected_
                  : llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_)
                                                      : llhttp_errno_name(err);
  return {Event::error, 0, {}};
}

bool ResponseParser::finish() {
  if (failed_) return false;
  paused_at_ = Event::need_more;
  // llhttp_finish runs the message-complete callback, which pauses: its result is not HPE_OK.
  llhttp_finish(&parser_);
  return paused_at_ == Event::complete;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.in_value_ || s.headers_.empty()) {
    s.headers_.emplace_back();
    s.in_value_ = false;
  }
  s.headers_.back().name.append(at, len);
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.headers_.empty()) return -1;
  s.in_value_ = true;
  s.headers_.back().value.append(at, len);
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  auto& s = self(p);
  if (p->http_major != 1) {
    // An HTTP/1.x connection answered in another version ("HTTP/2.0 200") is not HTTP/1.
    s.rejected_ = "not an HTTP/1.x status line";
    return -1;
  }
  const int status = p->status_code;
  if (status < 100 || status > 599) {
    // RFC 9110 §15: values outside 100..599 are invalid ("099" would pass as a final answer).
    s.rejected_ = "invalid status code";
    return -1;
  }
  bool length = false;
  bool coding = false;
  for (auto& h : s.headers_) {
    // llhttp (non-strict build) lets "Name : x", ": x" and a bare CR in a value through
    // (RFC 9112 §5.1, §2.2: reject).
    if (!is_token(h.name)) {
      s.rejected_ = "invalid header field name";
      return -1;
    }
    if (h.value.find('\r') != std::string::npos) {
      s.rejected_ = "bare CR in a header value";
      return -1;
    }
    length = length || iequals(h.name, "content-length");
    coding = coding || iequals(h.name, "transfer-encoding");
    if (length && coding) {
      // Framed two ways: whichever this proxy picked, another hop could pick the other.
      s.rejected_ = "Content-Length with Transfer-Encoding";
      return -1;
    }
    while (!h.value.empty() && (h.value.back() == ' ' || h.value.back() == '\t'))
      h.value.pop_back();
  }
  if (status >= 100 && status < 200 && status != 101) {
    s.interim_ = true;  // not forwarded
    return 0;
  }
  if (status == 101) {
    if (!s.upgrade_request_) return -1;
    if (!p->upgrade) {
      // A 101 without Upgrade and "Connection: upgrade" switches to nothing llhttp knows of;
      // parsing on would take the other protocol's bytes for HTTP.
      s.rejected_ = "a 101 response without Upgrade";
      return -1;
    }
    s.switching_ = true;
    s.head_done_ = true;
    return 0;  // llhttp pauses with HPE_PAUSED_UPGRADE after the head
  }
  // 204 and 304 never have a body, whatever Content-Length says (a 304 often repeats the
  // representation's length): taking it as the body length would wait for bytes that never
  // come. A HEAD response keeps its Content-Length for the client; it has no body either.
  if (status == 204 || status == 304)
    s.body_length_ = 0;
  else if ((p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED))
    s.body_length_ = p->content_length;
  else if (s.head_request_)
    s.body_length_ = 0;
  // What returning 1 ("no body") would do, for a pause: resuming skips the body.
  // 204 and 304 too: llhttp 8 reads a Content-Length body after them.
  if (s.head_request_ || status == 204 || status == 304) p->flags |= F_SKIPBODY;
  s.paused_at_ = Event::head;
  s.head_done_ = true;
  return HPE_PAUSED;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  // Feeding an empty rest after an event flushes an empty span: not an event.
  if (len == 0) return 0;
  auto& s = self(p);
  if (s.interim_ || s.switching_) {
    // A 1xx has no body (RFC 9110 §15.2); bytes framed as one would otherwise be forwarded
    // before the final response's head.
    s.rejected_ = "a body in a 1xx response";
    return -1;
  }
  s.body_ = {at, len};
  s.paused_at_ = Event::body;
  return HPE_PAUSED;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  auto& s = self(p);
  if (s.interim_) {
    s.interim_ = false;
    s.headers_.clear();
    s.in_value_ = false;
    return 0;
  }
  if (s.switching_) return 0;  // llhttp pauses with HPE_PAUSED_UPGRADE next
  s.paused_at_ = Event::complete;
  return HPE_PAUSED;
}

}  // namespace serverd
