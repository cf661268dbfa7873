#include "backend.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

namespace serverd::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPeriod = 65521;  // prime: payload never lines up with buffer sizes
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr int kReadTimeoutMs = 15000;  // a stalled peer mid-request

const std::string& payload_table() {
  static const std::string table = [] {
    std::string t(kPeriod, '\0');
    std::uint32_t x = 0x2545F491U;
    for (std::size_t i = 0; i < kPeriod; ++i) {
      x ^= x << 13;  // xorshift32
      x ^= x >> 17;
      x ^= x << 5;
      t[i] = static_cast<char>(x & 0xffU);
    }
    for (std::size_t i = 0; i < 256; ++i) t[i * 97] = static_cast<char>(i);  // every value
    return t;
  }();
  return table;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool has_token(std::string_view list, std::string_view token) {
  for (std::size_t pos = 0; pos <= list.size();) {
    const std::size_t comma = list.find(',', pos);
    const std::string_view item =
        trim(list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos));
    if (iequal(item, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    const std::size_t eq = item.find('=');
    out[std::string(item.substr(0, eq))] =
        eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

std::uint64_t to_u64(const std::string& s) {
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

const char* reason_for(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Whatever";
  }
}

// One connection's input side: a buffer filled with poll() that also watches the stop pipe.
class Reader {
 public:
  Reader(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
  enum class Fill { data, eof, error, timeout, stop };

  Fill fill(int timeout_ms) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int rc = ::poll(p, 2, timeout_ms);
    if (rc == 0) return Fill::timeout;
    if (rc < 0) return errno == EINTR ? Fill::data : Fill::error;
    if (p[1].revents != 0) return Fill::stop;
    char chunk[64 * 1024];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      return Fill::data;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return Fill::data;
    return n == 0 ? Fill::eof : Fill::error;
  }
  // Ensures at least n bytes are buffered.
  bool need(std::size_t n) {
    for (int i = 0; i < 1000000 && buf.size() < n; ++i)
      if (fill(kReadTimeoutMs) != Fill::data) return false;
    return buf.size() >= n;
  }
  // A line without its CRLF (consumed).
  std::optional<std::string> line() {
    for (int i = 0; i < 100000; ++i) {
      const std::size_t eol = buf.find("\r\n");
      if (eol != std::string::npos) {
        std::string l = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        return l;
      }
      if (buf.size() > kMaxHead || fill(kReadTimeoutMs) != Fill::data) return std::nullopt;
    }
    return std::nullopt;
  }
  std::string buf;

 private:
  int fd_;
  int stop_fd_;
};

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Sleeps `ms`, or less when the backend stops; false when it stopped.
bool pause_for(int stop_fd, std::uint64_t ms) {
  pollfd p{stop_fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(std::min<std::uint64_t>(ms, 60000))) == 0;
}

}  // namespace

std::string Fnv64::hex() const {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(value));
  return out;
}

std::string fnv64_hex(std::string_view bytes) {
  Fnv64 f;
  f.update(bytes);
  return f.hex();
}

void fill_payload(std::uint64_t offset, char* out, std::size_t n) {
  const std::string& t = payload_table();
  std::size_t pos = static_cast<std::size_t>(offset % kPeriod);
  while (n > 0) {
    const std::size_t take = std::min(n, kPeriod - pos);
    std::memcpy(out, t.data() + pos, take);
    out += take;
    n -= take;
    pos = 0;
  }
}

std::string payload(std::uint64_t offset, std::size_t n) {
  std::string s(n, '\0');
  fill_payload(offset, s.data(), n);
  return s;
}

std::string payload_checksum(std::uint64_t size) {
  Fnv64 f;
  std::string block(kPeriod, '\0');
  for (std::uint64_t off = 0; off < size; off += kPeriod) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPeriod, size - off));
    fill_payload(off, block.data(), n);
    f.update(std::string_view(block.data(), n));
  }
  return f.hex();
}

std::optional<std::string> SeenRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequal(n, name)) return v;
  return std::nullopt;
}

std::size_t SeenRequest::header_count(std::string_view name) const {
  std::size_t c = 0;
  for (const auto& h : headers) c += iequal(h.first, name) ? 1 : 0;
  return c;
}

std::string render_echo(const SeenRequest& r, std::string_view server_name) {
  std::string out;
  out += "server " + std::string(server_name) + "\n";
  out += "connection " + std::to_string(r.connection) + "\n";
  out += "method " + r.method + "\n";
  out += "target " + r.target + "\n";
  out += "version " + r.version + "\n";
  for (const auto& [n, v] : r.headers) out += "header " + n + ": " + v + "\n";
  out += "framing " + r.framing + "\n";
  out += "body-length " + std::to_string(r.body_length) + "\n";
  out += "body-fnv " + r.body_checksum + "\n";
  return out;
}

Echo parse_echo(std::string_view body) {
  Echo e;
  bool complete = false;
  std::size_t start = 0;
  for (int i = 0; i < 100000 && start < body.size(); ++i) {
    std::size_t eol = body.find('\n', start);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view line = body.substr(start, eol - start);
    start = eol + 1;
    const std::size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string value(sp == std::string_view::npos ? "" : line.substr(sp + 1));
    if (key == "server")
      e.server = value;
    else if (key == "connection")
      e.connection = static_cast<std::size_t>(to_u64(value));
    else if (key == "method")
      e.method = value;
    else if (key == "target")
      e.target = value;
    else if (key == "version")
      e.version = value;
    else if (key == "framing")
      e.framing = value;
    else if (key == "body-length")
      e.body_length = to_u64(value);
    else if (key == "body-fnv") {
      e.body_checksum = value;
      complete = true;
    } else if (key == "header") {
      const std::size_t colon = value.find(": ");
      e.headers.emplace_back(value.substr(0, colon),
                             colon == std::string::npos ? "" : value.substr(colon + 2));
    }
  }
  if (!complete || e.method.empty())
    throw std::runtime_error("not an echo body: " + printable(body));
  return e;
}

TestBackend::TestBackend(BackendOptions options) : options_(std::move(options)) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(options_.port));
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 512) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("backend bind/listen: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestBackend::~TestBackend() {
  stopping_ = true;
  [[maybe_unused]] const ssize_t w = ::write(stop_pipe_[1], "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::size_t TestBackend::open_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_fds_.size();
}

std::vector<SeenRequest> TestBackend::seen() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

bool TestBackend::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    if (requests() >= n) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void TestBackend::accept_loop() {
  for (int i = 0; i < 1000000 && !stopping_; ++i) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(p, 2, 1000) <= 0) continue;
    if (p[1].revents != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::size_t ordinal = ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd, ordinal] { serve(fd, ordinal); });
  }
}

void TestBackend::serve(int fd, std::size_t ordinal) {
  Reader in(fd, stop_pipe_[0]);
  const std::string common =
      "Server: test-backend\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
      "X-Backend: " +
      options_.name + "\r\n";
  for (int request_no = 0; request_no < 100000 && !stopping_; ++request_no) {
    // Idle between requests: the first byte of the next one, within idle_close.
    if (in.buf.empty()) {
      const int idle_ms =
          options_.idle_close.count() > 0 ? static_cast<int>(options_.idle_close.count()) : 60000;
      if (in.fill(idle_ms) != Reader::Fill::data) break;
    }
    SeenRequest r;
    r.connection = ordinal;
    const auto request_line = in.line();
    if (!request_line) break;
    const std::size_t sp1 = request_line->find(' ');
    const std::size_t sp2 = request_line->rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) break;
    r.method = request_line->substr(0, sp1);
    r.target = request_line->substr(sp1 + 1, sp2 - sp1 - 1);
    r.version = request_line->substr(sp2 + 1);
    bool bad = false;
    for (int i = 0; i < 1000; ++i) {
      const auto l = in.line();
      if (!l) {
        bad = true;
        break;
      }
      if (l->empty()) break;
      const std::size_t colon = l->find(':');
      if (colon == std::string::npos) {
        bad = true;
        break;
      }
      r.headers.emplace_back(l->substr(0, colon),
                             std::string(trim(std::string_view(*l).substr(colon + 1))));
    }
    if (bad) break;

    // The body.
    Fnv64 fnv;
    const auto te = r.header("Transfer-Encoding");
    const auto cl = r.header("Content-Length");
    const auto upgrade_hdr = r.header("Upgrade");
    const bool upgrade = upgrade_hdr && iequal(*upgrade_hdr, "websocket");
    if (te && has_token(*te, "chunked")) {
      r.framing = "chunked";
      for (int i = 0; i < 10000000; ++i) {
        const auto size_line = in.line();
        if (!size_line) {
          bad = true;
          break;
        }
        const std::uint64_t size = std::strtoull(size_line->c_str(), nullptr, 16);
        if (size == 0) {
          for (int j = 0; j < 100; ++j) {  // trailer section
            const auto t = in.line();
            if (!t) bad = true;
            if (!t || t->empty()) break;
          }
          break;
        }
        if (!in.need(static_cast<std::size_t>(size) + 2)) {
          bad = true;
          break;
        }
        fnv.update(std::string_view(in.buf).substr(0, static_cast<std::size_t>(size)));
        r.body_length += size;
        in.buf.erase(0, static_cast<std::size_t>(size) + 2);
      }
    } else if (cl) {
      r.framing = "length";
      std::uint64_t left = to_u64(*cl);
      for (int i = 0; i < 10000000 && left > 0; ++i) {
        if (in.buf.empty() && in.fill(kReadTimeoutMs) != Reader::Fill::data) {
          bad = true;
          break;
        }
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(left, in.buf.size()));
        fnv.update(std::string_view(in.buf).substr(0, take));
        in.buf.erase(0, take);
        left -= take;
        r.body_length += take;
      }
    } else {
      r.framing = "none";
    }
    if (bad) break;
    r.body_checksum = fnv.hex();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(r);
    }
    ++requests_;

    const auto q = parse_query(r.target);
    auto has = [&](const char* k) { return q.count(k) != 0; };
    const bool head = r.method == "HEAD";
    const auto conn_hdr = r.header("Connection");
    const bool close_after =
        (conn_hdr && has_token(*conn_hdr, "close")) ||
        (r.version == "HTTP/1.0" && !(conn_hdr && has_token(*conn_hdr, "keep-alive")));
    if (options_.drop_every_request || has("drop")) break;
    if (has("sleep") && !pause_for(stop_pipe_[0], to_u64(q.at("sleep")))) break;

    if (upgrade) {
      std::string head101 = "HTTP/1.1 101 Switching Protocols\r\n" + common +
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nwelcome\n";
      if (!send_all(fd, head101)) break;
      std::string tail;
      for (int i = 0; i < 1000000; ++i) {
        if (!in.buf.empty()) {
          if (!send_all(fd, in.buf)) break;
          tail += in.buf;
          if (tail.size() > 4) tail.erase(0, tail.size() - 4);
          in.buf.clear();
          if (tail.ends_with("bye\n")) break;
        }
        if (in.fill(30000) != Reader::Fill::data) break;
      }
      ::shutdown(fd, SHUT_WR);
      break;
    }
    if (has("garbage")) {  // not HTTP at all; then wait for the peer to give up
      if (!send_all(fd, "SSH-2.0-OpenSSH_9.2 not http\r\n\r\n")) break;
      in.buf.clear();
      while (in.fill(10000) == Reader::Fill::data) in.buf.clear();
      break;
    }
    if (has("interim")) {
      if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) break;
      if (!send_all(fd, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"))
        break;
    }
    const int status = has("status") ? static_cast<int>(to_u64(q.at("status"))) : 200;
    std::string out =
        "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) + "\r\n" + common;
    if (close_after) out += "Connection: close\r\n";
    if (has("hop")) {
      out +=
          "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5, max=100\r\n"
          "Proxy-Authenticate: Basic realm=\"x\"\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\n"
          "X-Kept: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nCache-Control: no-store\r\n"
          "X-Secret: hidden\r\n";
    }
    bool ok = true;
    bool close_now = close_after;
    if (status == 204 || status == 304) {
      out += "ETag: \"e1\"\r\nX-Status: " + std::to_string(status) + "\r\n\r\n";
      ok = send_all(fd, out);
    } else if (has("bytes")) {
      const std::uint64_t size = to_u64(q.at("bytes"));
      const bool by_close = has("close");
      out += "Content-Type: application/octet-stream\r\n";
      out += by_close ? std::string(close_after ? "" : "Connection: close\r\n")
                      : "Content-Length: " + std::to_string(size) + "\r\n";
      out += "\r\n";
      ok = send_all(fd, out);
      std::string block(64 * 1024, '\0');
      for (std::uint64_t off = 0; ok && !head && off < size; off += block.size()) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - off));
        fill_payload(off, block.data(), n);
        ok = send_all(fd, std::string_view(block.data(), n));
      }
      close_now = close_now || by_close;
    } else if (has("chunks")) {
      out +=
          "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n"
          "Trailer: X-Trailer\r\n\r\n";
      ok = send_all(fd, out);
      std::string_view list = q.at("chunks");
      std::uint64_t off = 0;
      for (int i = 0; ok && !head && i < 1000 && !list.empty(); ++i) {
        const std::size_t comma = list.find(',');
        const std::uint64_t n = to_u64(std::string(list.substr(0, comma)));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (n == 0) continue;
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%llx\r\n", static_cast<unsigned long long>(n));
        ok = send_all(fd, size_line) &&
             send_all(fd, payload(off, static_cast<std::size_t>(n)) + "\r\n");
        off += n;
      }
      if (ok && !head) ok = send_all(fd, "0\r\nX-Trailer: done\r\n\r\n");
    } else {
      const std::string body = render_echo(r, options_.name);
      out +=
          "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      if (!head) out += body;
      ok = send_all(fd, out);
    }
    if (!ok || close_now) break;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  open_fds_.erase(fd);
  ::close(fd);
}

}  // namespace serverd::itest
