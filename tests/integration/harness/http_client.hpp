#pragma once
// A raw HTTP/1.x client over a non-blocking TCP socket with poll() timeouts: send exact bytes,
// read one response at a time with a strict reader (status line, headers, body by
// Content-Length / chunked / until close; none for HEAD, 1xx, 204, 304), and observe how the
// server closes the connection (FIN vs RST) within a bounded time.
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serverd::itest {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  Headers headers;       // in order, as received (names as sent)
  std::string body;      // decoded (chunked framing removed)
  std::string raw_head;  // status line + headers + the blank line, byte for byte
  bool chunked = false;
  bool until_close = false;  // body delimited by the connection close

  // First value of the header (case-insensitive name), if any.
  std::optional<std::string> header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  bool has_header(std::string_view name) const { return header_count(name) > 0; }
};

enum class ReadStatus {
  ok,         // a complete response
  closed,     // the server closed (FIN) before sending any byte of a response
  reset,      // connection reset
  timeout,    // nothing complete within the timeout
  malformed,  // bytes that are not a valid HTTP/1.x response (see error)
};

struct ReadResult {
  ReadStatus status = ReadStatus::timeout;
  Response response;
  std::string error;  // human-readable detail for everything but ok
};

enum class CloseKind { fin, reset, timeout };

struct CloseResult {
  CloseKind kind = CloseKind::timeout;
  std::chrono::milliseconds elapsed{0};  // from the call until the close was seen
  std::string data;                      // bytes received (and discarded) before the close
};

struct ReadOptions {
  bool head = false;  // response to HEAD: no body whatever the headers say
  std::chrono::milliseconds timeout{3000};
};

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port (bounded); throws std::runtime_error on failure.
  static HttpConnection connect(int port,
                                std::chrono::milliseconds timeout = std::chrono::seconds(2));
  HttpConnection(HttpConnection&& other) noexcept;
  HttpConnection& operator=(HttpConnection&& other) noexcept;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  ~HttpConnection();

  // Sends all bytes (bounded); throws on failure.
  void send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // Same, but reports failure (EPIPE, ECONNRESET, timeout) as false instead of throwing.
  bool try_send(std::string_view bytes,
                std::chrono::milliseconds timeout = std::chrono::seconds(3)) noexcept;
  // shutdown(SHUT_WR): the server sees end of input.
  void shutdown_write() noexcept;

  ReadResult read_response(const ReadOptions& options = {});
  // read_response(), throwing std::runtime_error (with the details) unless it is ok.
  Response expect_response(const ReadOptions& options = {});
  Response expect_head_response() {
    ReadOptions options;
    options.head = true;
    return expect_response(options);
  }

  // Reads (and keeps in data) until the server closes the connection or the timeout passes.
  CloseResult wait_for_close(std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // True when nothing arrives and the connection stays open for `duration`.
  bool quiet_for(std::chrono::milliseconds duration);

  // Bytes received but not yet consumed by read_response().
  const std::string& buffered() const { return buf_; }
  int fd() const { return fd_; }
  // From now on the connection speaks TLS through `ssl` (owned; bound to fd(), handshake done).
  void attach_tls(SSL* ssl) noexcept { ssl_ = ssl; }
  SSL* ssl() const { return ssl_; }

 private:
  explicit HttpConnection(int fd) : fd_(fd) {}
  enum class Fill { data, eof, reset, timeout, error };
  Fill fill(std::chrono::steady_clock::time_point deadline);
  void close_fd() noexcept;

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
  bool eof_ = false;
  bool reset_ = false;
};

// "GET target HTTP/1.1\r\nHost: host\r\n" + extra (each line ending in \r\n) + "\r\n".
std::string make_request(std::string_view method, std::string_view target,
                         std::string_view host = "localhost", std::string_view extra_headers = "");
inline std::string get_request(std::string_view target, std::string_view host = "localhost",
                               std::string_view extra_headers = "") {
  return make_request("GET", target, host, extra_headers);
}

// Opens a connection, sends `request`, reads one response (throws on anything but ok).
Response fetch(int port, std::string_view request, const ReadOptions& options = {});

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
bool is_imf_fixdate(std::string_view text);
// For diagnostics: escapes control bytes, truncates long text.
std::string printable(std::string_view bytes, std::size_t max = 400);
const char* to_string(ReadStatus status);
const char* to_string(CloseKind kind);

}  // namespace serverd::itest
