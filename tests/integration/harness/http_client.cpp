#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <regex>
#include <stdexcept>

namespace serverd::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHead = 256 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::optional<std::uint64_t> parse_decimal(std::string_view v) {
  if (v.empty() || v.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

ReadResult failure(ReadStatus status, std::string error) {
  ReadResult r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// Parses the head (without the final CRLFCRLF) into `resp`; returns an error text or "".
std::string parse_head(std::string_view head, Response& resp) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0, i = 0; i < 100000; ++i) {
    const auto pos = head.find("\r\n", start);
    lines.push_back(head.substr(start, pos == std::string_view::npos ? head.npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 2;
  }
  static const std::regex status_re(R"(^(HTTP/1\.[01]) ([1-5][0-9][0-9]) ([^\r\n]*)$)");
  std::cmatch m;
  const std::string_view sl = lines.front();
  if (!std::regex_match(sl.data(), sl.data() + sl.size(), m, status_re)) {
    return "bad status line: " + printable(sl);
  }
  resp.version = m[1].str();
  resp.status = std::stoi(m[2].str());
  resp.reason = m[3].str();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.find_first_of("\r\n") != std::string_view::npos || line.find('\0') != line.npos) {
      return "CR, LF or NUL inside a header line: " + printable(line);
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return "bad header line: " + printable(line);
    const std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar)) {
      return "bad header name: " + printable(line);
    }
    resp.headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
  }
  return {};
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::size_t Response::header_count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

HttpConnection HttpConnection::connect(int port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  HttpConnection conn(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return conn;
  if (errno != EINPROGRESS) {
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  pollfd pfd{fd, POLLOUT, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) {
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": timeout");
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  return conn;
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      buf_(std::move(other.buf_)),
      eof_(other.eof_),
      reset_(other.reset_) {}

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    ssl_ = std::exchange(other.ssl_, nullptr);
    buf_ = std::move(other.buf_);
    eof_ = other.eof_;
    reset_ = other.reset_;
  }
  return *this;
}

HttpConnection::~HttpConnection() {
  close_fd();
}

void HttpConnection::close_fd() noexcept {
  // close_notify first: OpenSSL never resumes a session whose connection was just dropped.
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpConnection::try_send(std::string_view bytes, std::chrono::milliseconds timeout) noexcept {
  const auto deadline = Clock::now() + timeout;
  std::size_t sent = 0;
  for (int i = 0; i < 1'000'000 && sent < bytes.size(); ++i) {
    if (ssl_ != nullptr) {
      const int n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
      pollfd pfd{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      if (::poll(&pfd, 1, remaining_ms(deadline)) != 1) return false;
      continue;
    }
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, remaining_ms(deadline)) != 1) return false;
      if ((pfd.revents & (POLLERR | POLLHUP)) != 0) return false;
      continue;
    }
    return false;
  }
  return sent == bytes.size();
}

void HttpConnection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (!try_send(bytes, timeout)) {
    throw std::runtime_error("send of " + std::to_string(bytes.size()) +
                             " bytes failed: " + std::strerror(errno));
  }
}

void HttpConnection::shutdown_write() noexcept {
  ::shutdown(fd_, SHUT_WR);
}

HttpConnection::Fill HttpConnection::fill(Clock::time_point deadline) {
  if (reset_) return Fill::reset;
  if (eof_) return Fill::eof;
  std::array<char, 65536> chunk{};
  for (int i = 0; i < 1'000'000; ++i) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, chunk.data(), static_cast<int>(chunk.size()));
      if (n > 0) {
        buf_.append(chunk.data(), static_cast<std::size_t>(n));
        return Fill::data;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) {
        eof_ = true;
        return Fill::eof;
      }
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        pollfd pfd{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        const int left = remaining_ms(deadline);
        if (left == 0) return Fill::timeout;
        const int r = ::poll(&pfd, 1, left);
        if (r == 0) return Fill::timeout;
        if (r < 0 && errno != EINTR) return Fill::error;
        continue;
      }
      if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET) {
        reset_ = true;
        return Fill::reset;
      }
      if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) {
        // A peer that closes without close_notify (OpenSSL 3 reports an unexpected EOF).
        eof_ = true;
        return Fill::eof;
      }
      return Fill::error;
    }
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      buf_.append(chunk.data(), static_cast<std::size_t>(n));
      return Fill::data;
    }
    if (n == 0) {
      eof_ = true;
      return Fill::eof;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) {
      reset_ = true;
      return Fill::reset;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Fill::error;
    pollfd pfd{fd_, POLLIN, 0};
    const int left = remaining_ms(deadline);
    if (left == 0) return Fill::timeout;
    const int r = ::poll(&pfd, 1, left);
    if (r == 0) return Fill::timeout;
    if (r < 0 && errno != EINTR) return Fill::error;
  }
  return Fill::error;
}

ReadResult HttpConnection::read_response(const ReadOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  // Head.
  std::size_t head_end = std::string::npos;
  for (int i = 0; i < 100000; ++i) {
    head_end = buf_.find("\r\n\r\n");
    if (head_end != std::string::npos) break;
    if (buf_.size() > kMaxHead) return failure(ReadStatus::malformed, "response head too large");
    const Fill f = fill(deadline);
    if (f == Fill::data) continue;
    if (buf_.empty()) {
      if (f == Fill::eof) return failure(ReadStatus::closed, "closed before any response byte");
      if (f == Fill::reset) return failure(ReadStatus::reset, "reset before any response byte");
    }
    if (f == Fill::timeout) {
      return failure(ReadStatus::timeout, "timeout; partial head: " + printable(buf_));
    }
    if (f == Fill::reset) {
      return failure(ReadStatus::reset, "reset inside the response head: " + printable(buf_));
    }
    return failure(ReadStatus::malformed,
                   "connection ended inside the response head: " + printable(buf_));
  }
  if (head_end == std::string::npos) return failure(ReadStatus::malformed, "no head");
  ReadResult result;
  Response& resp = result.response;
  resp.raw_head = buf_.substr(0, head_end + 4);
  buf_.erase(0, head_end + 4);
  if (std::string err = parse_head(std::string_view(resp.raw_head).substr(0, head_end), resp);
      !err.empty()) {
    return failure(ReadStatus::malformed, err);
  }
  result.status = ReadStatus::ok;

  // Body framing (RFC 9112 section 6.3).
  if (options.head || resp.status < 200 || resp.status == 204 || resp.status == 304) return result;
  const auto te = resp.header("Transfer-Encoding");
  const std::size_t cl_count = resp.header_count("Content-Length");
  if (te && cl_count > 0) {
    return failure(ReadStatus::malformed, "both Transfer-Encoding and Content-Length");
  }
  if (cl_count > 1) return failure(ReadStatus::malformed, "several Content-Length headers");

  auto need = [&](std::size_t n) -> ReadStatus {
    for (int i = 0; i < 100000 && buf_.size() < n; ++i) {
      const Fill f = fill(deadline);
      if (f == Fill::timeout) return ReadStatus::timeout;
      if (f == Fill::reset) return ReadStatus::reset;
      if (f != Fill::data) return ReadStatus::malformed;
    }
    return buf_.size() >= n ? ReadStatus::ok : ReadStatus::malformed;
  };

  if (te) {
    std::string lower = *te;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower != "chunked") return failure(ReadStatus::malformed, "unsupported TE " + *te);
    resp.chunked = true;
    for (int chunks = 0; chunks < 1'000'000; ++chunks) {
      std::size_t eol = std::string::npos;
      for (int i = 0; i < 1000 && (eol = buf_.find("\r\n")) == std::string::npos; ++i) {
        if (buf_.size() > 1024) return failure(ReadStatus::malformed, "chunk size line too long");
        if (const ReadStatus st = need(buf_.size() + 1); st != ReadStatus::ok) {
          return failure(st, "inside a chunk size line");
        }
      }
      if (eol == std::string::npos) return failure(ReadStatus::malformed, "no chunk size line");
      std::string_view size_text = std::string_view(buf_).substr(0, eol);
      size_text = size_text.substr(0, size_text.find(';'));
      if (size_text.empty() || size_text.size() > 15 ||
          size_text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
        return failure(ReadStatus::malformed,
                       "bad chunk size line: " + printable(buf_.substr(0, eol)));
      }
      const std::size_t size = std::stoul(std::string(size_text), nullptr, 16);
      buf_.erase(0, eol + 2);
      if (size == 0) {
        // Trailer section, ended by an empty line.
        for (int t = 0; t < 1000; ++t) {
          std::size_t end = std::string::npos;
          for (int i = 0; i < 1000 && (end = buf_.find("\r\n")) == std::string::npos; ++i) {
            if (const ReadStatus st = need(buf_.size() + 1); st != ReadStatus::ok) {
              return failure(st, "inside the chunked trailer");
            }
          }
          if (end == std::string::npos) return failure(ReadStatus::malformed, "bad trailer");
          buf_.erase(0, end + 2);
          if (end == 0) return result;
        }
        return failure(ReadStatus::malformed, "too many trailer lines");
      }
      if (resp.body.size() + size > kMaxBody) return failure(ReadStatus::malformed, "body too big");
      if (const ReadStatus st = need(size + 2); st != ReadStatus::ok) {
        return failure(st, "inside chunk data");
      }
      if (buf_.compare(size, 2, "\r\n") != 0) {
        return failure(ReadStatus::malformed, "chunk data not followed by CRLF");
      }
      resp.body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
    return failure(ReadStatus::malformed, "too many chunks");
  }
  if (cl_count == 1) {
    const auto n = parse_decimal(*resp.header("Content-Length"));
    if (!n || *n > kMaxBody) {
      return failure(ReadStatus::malformed, "bad Content-Length " + *resp.header("Content-Length"));
    }
    if (const ReadStatus st = need(static_cast<std::size_t>(*n)); st != ReadStatus::ok) {
      return failure(st, "body shorter than Content-Length " + std::to_string(*n) + " (got " +
                             std::to_string(buf_.size()) + ")");
    }
    resp.body = buf_.substr(0, static_cast<std::size_t>(*n));
    buf_.erase(0, static_cast<std::size_t>(*n));
    return result;
  }
  // Delimited by close.
  resp.until_close = true;
  for (int i = 0; i < 100000; ++i) {
    if (buf_.size() > kMaxBody) return failure(ReadStatus::malformed, "body too big");
    const Fill f = fill(deadline);
    if (f == Fill::data) continue;
    if (f == Fill::eof) break;
    return failure(f == Fill::timeout ? ReadStatus::timeout : ReadStatus::reset,
                   "body without length not ended by a close");
  }
  resp.body = std::move(buf_);
  buf_.clear();
  return result;
}

Response HttpConnection::expect_response(const ReadOptions& options) {
  ReadResult r = read_response(options);
  if (r.status != ReadStatus::ok) {
    throw std::runtime_error(std::string("no valid HTTP response: ") + to_string(r.status) + ": " +
                             r.error);
  }
  return std::move(r.response);
}

CloseResult HttpConnection::wait_for_close(std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  CloseResult r;
  r.data = std::move(buf_);
  buf_.clear();
  for (int i = 0; i < 1'000'000; ++i) {
    const Fill f = fill(deadline);
    r.data += buf_;
    buf_.clear();
    if (f == Fill::data) continue;
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    r.kind = f == Fill::eof       ? CloseKind::fin
             : f == Fill::timeout ? CloseKind::timeout
                                  : CloseKind::reset;
    return r;
  }
  return r;
}

bool HttpConnection::quiet_for(std::chrono::milliseconds duration) {
  if (!buf_.empty() || eof_ || reset_) return false;
  const Fill f = fill(Clock::now() + duration);
  return f == Fill::timeout;
}

std::string make_request(std::string_view method, std::string_view target, std::string_view host,
                         std::string_view extra_headers) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  r.append("\r\n").append(extra_headers).append("\r\n");
  return r;
}

Response fetch(int port, std::string_view request, const ReadOptions& options) {
  HttpConnection conn = HttpConnection::connect(port);
  conn.send(request);
  return conn.expect_response(options);
}

bool is_imf_fixdate(std::string_view text) {
  static const std::regex re(
      "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
      "[0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT$");
  return std::regex_match(text.begin(), text.end(), re);
}

std::string printable(std::string_view bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      std::array<char, 8> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", c);
      out += hex.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

const char* to_string(ReadStatus status) {
  switch (status) {
    case ReadStatus::ok:
      return "ok";
    case ReadStatus::closed:
      return "closed";
    case ReadStatus::reset:
      return "reset";
    case ReadStatus::timeout:
      return "timeout";
    case ReadStatus::malformed:
      return "malformed";
  }
  return "?";
}

const char* to_string(CloseKind kind) {
  switch (kind) {
    case CloseKind::fin:
      return "fin";
    case CloseKind::reset:
      return "reset";
    case CloseKind::timeout:
      return "timeout";
  }
  return "?";
}

}  // namespace serverd::itest
