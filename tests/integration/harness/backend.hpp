#pragma once
// A real HTTP/1.1 origin server inside the test process, for proxy tests: one thread accepts on
// an ephemeral 127.0.0.1 port, one thread per connection serves requests with keep-alive. It
// parses what the proxy sends (head, Content-Length or chunked body), counts connections and
// requests, remembers every request it saw, and answers according to the request's query:
//
//   (default)         200, text body echoing what arrived (see Echo / parse_echo)
//   bytes=N           200 with N payload bytes (payload_byte()), Content-Length
//   bytes=N&close=1   ... without a length: "Connection: close", body ends with the connection
//   chunks=A,B,C      200 chunked: payload bytes in chunks of A, B, C bytes, then a trailer
//   status=N          N (204 and 304 without a body; others with the echo body)
//   interim=1         "100 Continue" and "103 Early Hints" before the final response
//   hop=1             the response carries hop-by-hop headers next to end-to-end ones
//   sleep=MS          waits MS milliseconds before answering (interrupted by shutdown)
//   drop=1            reads the request (body included) and closes without answering
//   garbage=1         answers bytes that are not HTTP, then waits for the peer to close
//   Upgrade header    101 Switching Protocols + "welcome\n", then echoes bytes until EOF; after
//                     echoing data that ends with "bye\n" it closes its side
//
// Every response carries "Server: test-backend", a fixed "Date" and "X-Backend: NAME".
// A HEAD request gets the GET head without the body. Requests with "Connection: close" (or
// HTTP/1.0 without keep-alive) close after the response.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_client.hpp"

namespace serverd::itest {

// FNV-1a, 64 bit, incremental: the checksum both the backend and the tests compute.
struct Fnv64 {
  std::uint64_t value = 0xcbf29ce484222325ULL;
  void update(std::string_view bytes) {
    for (unsigned char c : bytes) {
      value ^= c;
      value *= 0x100000001b3ULL;
    }
  }
  std::string hex() const;
};
std::string fnv64_hex(std::string_view bytes);

// Byte `i` of the payload the backend serves (deterministic, every byte value occurs, period
// 65521 so that it never lines up with buffer sizes).
void fill_payload(std::uint64_t offset, char* out, std::size_t n);
std::string payload(std::uint64_t offset, std::size_t n);
// fnv64 of the first `size` payload bytes.
std::string payload_checksum(std::uint64_t size);

struct BackendOptions {
  std::string name = "backend";
  // Close a keep-alive connection that stays idle this long (0: keep it until shutdown).
  std::chrono::milliseconds idle_close{0};
  // Every request: read it whole, then close without answering (as with drop=1).
  bool drop_every_request = false;
  // Listen on this 127.0.0.1 port (0: an ephemeral one).
  int port = 0;
};

// One request as the backend parsed it.
struct SeenRequest {
  std::size_t connection = 0;  // 1-based ordinal of the connection it came on
  std::string method;
  std::string target;
  std::string version;
  Headers headers;      // in order, as received
  std::string framing;  // "length", "chunked" or "none"
  std::uint64_t body_length = 0;
  std::string body_checksum;  // fnv64 hex of the body bytes

  std::optional<std::string> header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
};

// The default response body is SeenRequest rendered as lines:
//   server NAME / connection K / method M / target T / version V / header Name: value (each) /
//   framing F / body-length N / body-fnv HEX
std::string render_echo(const SeenRequest& request, std::string_view server_name);
struct Echo : SeenRequest {
  std::string server;
};
// Throws std::runtime_error when `body` is not an echo.
Echo parse_echo(std::string_view body);

class TestBackend {
 public:
  explicit TestBackend(BackendOptions options = {});
  ~TestBackend();  // stops accepting, shuts every connection down, joins every thread
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& name() const { return options_.name; }

  std::size_t connections() const { return connections_.load(); }
  std::size_t requests() const { return requests_.load(); }
  // Connections currently open (accepted and not yet closed by either side).
  std::size_t open_connections() const;
  std::vector<SeenRequest> seen() const;
  // Polls (bounded) until requests() >= n.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void serve(int fd, std::size_t ordinal);

  BackendOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> requests_{0};
  mutable std::mutex mutex_;
  std::set<int> open_fds_;
  std::vector<SeenRequest> seen_;
  std::list<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace serverd::itest
