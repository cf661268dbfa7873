#include "load_driver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

namespace serverd::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxSamples = 20;
constexpr std::size_t kMaxHead = 64 * 1024;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 60'000));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_token(std::string_view list, std::string_view token) {
  for (std::size_t start = 0, i = 0; i < 1000 && start <= list.size(); ++i) {
    std::size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string errno_text(int err) {
  return err == 0 ? "no error" : std::strerror(err);
}

// One client connection with its read buffer.
class Socket {
 public:
  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }

  bool open() const { return fd_ >= 0; }
  bool reused() const { return requests_ > 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
    requests_ = 0;
  }

  // Non-blocking connect bounded by `deadline`; "" on success, else the reason.
  std::string connect(int port, Clock::time_point deadline) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return "socket: " + errno_text(errno);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return {};
    if (errno != EINPROGRESS) {
      std::string why = "connect: " + errno_text(errno);
      close();
      return why;
    }
    pollfd p{fd_, POLLOUT, 0};
    int r = 0;
    for (int i = 0; i < 1000; ++i) {
      r = ::poll(&p, 1, remaining_ms(deadline));
      if (!(r < 0 && errno == EINTR)) break;
    }
    if (r != 1) {
      close();
      return "connect: timeout";
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      close();
      return "connect: " + errno_text(err);
    }
    return {};
  }

  enum class Idle { alive, fin, reset, data };
  // Looks, without blocking, at a keep-alive connection that is about to be reused.
  Idle check_idle() const {
    if (!buf_.empty()) return Idle::data;
    char c = 0;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return Idle::fin;
    if (n > 0) return Idle::data;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Idle::alive;
    return Idle::reset;
  }

  // "" on success, else the reason.
  std::string send_all(std::string_view bytes, Clock::time_point deadline) {
    ++requests_;
    std::size_t sent = 0;
    for (int i = 0; i < 100000 && sent < bytes.size(); ++i) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) != 1) return "send: timeout";
        continue;
      }
      return "send: " + errno_text(errno);
    }
    return sent == bytes.size() ? "" : "send: incomplete";
  }

  enum class Fill { data, eof, reset, timeout, error };
  Fill fill(Clock::time_point deadline, int* err) {
    std::array<char, 16384> chunk;
    for (int i = 0; i < 100000; ++i) {
      const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
      if (n > 0) {
        buf_.append(chunk.data(), static_cast<std::size_t>(n));
        return Fill::data;
      }
      if (n == 0) return Fill::eof;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return Fill::reset;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        *err = errno;
        return Fill::error;
      }
      const int left = remaining_ms(deadline);
      if (left == 0) return Fill::timeout;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, left);
      if (r == 0) return Fill::timeout;
      if (r < 0 && errno != EINTR) {
        *err = errno;
        return Fill::error;
      }
    }
    return Fill::error;
  }

  struct Result {
    std::string failure;  // "" when a complete response was read
    int status = 0;
    bool close = false;  // "Connection: close" (or a body delimited by the close)
    std::string body;
  };

  Result read_response(Clock::time_point deadline, std::size_t max_body) {
    Result r;
    int err = 0;
    auto describe = [&](Fill f, const char* where) {
      switch (f) {
        case Fill::eof:
          return std::string("closed ") + where;
        case Fill::reset:
          return std::string("reset ") + where;
        case Fill::timeout:
          return std::string("timeout ") + where;
        default:
          return std::string("recv error (") + errno_text(err) + ") " + where;
      }
    };
    std::size_t head_end = std::string::npos;
    for (int i = 0; i < 100000; ++i) {
      head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) break;
      if (buf_.size() > kMaxHead) {
        r.failure = "response head too large";
        return r;
      }
      const Fill f = fill(deadline, &err);
      if (f == Fill::data) continue;
      r.failure = describe(f, buf_.empty() ? "after the request was sent, before any response byte"
                                           : "inside the response head");
      return r;
    }
    if (head_end == std::string::npos) {
      r.failure = "no response head";
      return r;
    }
    const std::string_view head(buf_.data(), head_end);
    // Status line: HTTP/1.x SP 3DIGIT SP reason
    if (head.size() < 12 ||
        (head.substr(0, 9) != "HTTP/1.1 " && head.substr(0, 9) != "HTTP/1.0 ") ||
        !std::isdigit(static_cast<unsigned char>(head[9])) ||
        !std::isdigit(static_cast<unsigned char>(head[10])) ||
        !std::isdigit(static_cast<unsigned char>(head[11]))) {
      r.failure = "malformed status line: " +
                  std::string(head.substr(0, std::min<std::size_t>(head.size(), 60)));
      return r;
    }
    r.status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    const bool http10 = head.substr(0, 9) == "HTTP/1.0 ";
    bool keep_alive_header = false;
    std::optional<std::uint64_t> length;
    bool chunked = false;
    std::size_t pos = head.find("\r\n");
    for (int i = 0; i < 1000 && pos != std::string_view::npos; ++i) {
      const std::size_t start = pos + 2;
      const std::size_t end = head.find("\r\n", start);
      const std::string_view line =
          head.substr(start, end == std::string_view::npos ? head.npos : end - start);
      pos = end;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        r.failure = "malformed header line";
        return r;
      }
      const std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (iequals(name, "content-length")) {
        std::uint64_t n = 0;
        if (value.empty() || value.size() > 18 ||
            value.find_first_not_of("0123456789") != std::string_view::npos) {
          r.failure = "bad Content-Length";
          return r;
        }
        for (char c : value) n = n * 10 + static_cast<std::uint64_t>(c - '0');
        if (length && *length != n) {
          r.failure = "conflicting Content-Length headers";
          return r;
        }
        length = n;
      } else if (iequals(name, "connection")) {
        if (has_token(value, "close")) r.close = true;
        if (has_token(value, "keep-alive")) keep_alive_header = true;
      } else if (iequals(name, "transfer-encoding")) {
        chunked = true;
      }
    }
    if (http10 && !keep_alive_header) r.close = true;
    buf_.erase(0, head_end + 4);
    if (chunked) {
      r.failure = "chunked response (not supported by the load driver)";
      return r;
    }
    const bool no_body = r.status < 200 || r.status == 204 || r.status == 304;
    if (no_body) return r;
    if (length) {
      if (*length > max_body) {
        r.failure = "body too big";
        return r;
      }
      const auto n = static_cast<std::size_t>(*length);
      for (int i = 0; i < 1'000'000 && buf_.size() < n; ++i) {
        const Fill f = fill(deadline, &err);
        if (f == Fill::data) continue;
        r.failure = describe(f, "inside the response body") + " (" + std::to_string(buf_.size()) +
                    " of " + std::to_string(n) + " bytes)";
        return r;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    // Delimited by the close.
    r.close = true;
    for (int i = 0; i < 1'000'000; ++i) {
      if (buf_.size() > max_body) {
        r.failure = "body too big";
        return r;
      }
      const Fill f = fill(deadline, &err);
      if (f == Fill::data) continue;
      if (f == Fill::eof) break;
      r.failure = describe(f, "inside a body delimited by the close");
      return r;
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }

  // After a response that ends the connection: wait (bounded) for the server's FIN so that the
  // TIME_WAIT state stays on the server's side, as with a real client that reads until EOF.
  void await_close(Clock::time_point deadline) {
    int err = 0;
    for (int i = 0; i < 100; ++i) {
      buf_.clear();
      if (fill(deadline, &err) != Fill::data) break;
    }
    close();
  }

 private:
  int fd_ = -1;
  std::string buf_;
  std::uint64_t requests_ = 0;
};

}  // namespace

struct LoadDriver::Client {
  mutable std::mutex mutex;
  LoadStats stats;
  std::thread thread;
};

std::uint64_t LoadStats::count(int phase, const std::string& body) const {
  auto p = bodies.find(phase);
  if (p == bodies.end()) return 0;
  auto b = p->second.find(body);
  return b == p->second.end() ? 0 : b->second;
}

std::uint64_t LoadStats::count_other(int phase, const std::string& body) const {
  return successes_in(phase) - count(phase, body);
}

std::uint64_t LoadStats::successes_in(int phase) const {
  auto p = bodies.find(phase);
  if (p == bodies.end()) return 0;
  std::uint64_t n = 0;
  for (const auto& [body, count] : p->second) n += count;
  return n;
}

void LoadStats::merge(const LoadStats& o) {
  attempts += o.attempts;
  successes += o.successes;
  failures += o.failures;
  connects += o.connects;
  connection_close += o.connection_close;
  idle_closes += o.idle_closes;
  for (const auto& [k, v] : o.failure_kinds) failure_kinds[k] += v;
  for (const auto& s : o.failure_samples)
    if (failure_samples.size() < kMaxSamples) failure_samples.push_back(s);
  for (const auto& [phase, map] : o.bodies)
    for (const auto& [body, count] : map) bodies[phase][body] += count;
}

std::string LoadStats::summary() const {
  std::ostringstream out;
  out << "attempts " << attempts << ", successes " << successes << ", failures " << failures
      << ", connections opened " << connects << ", 'Connection: close' answers " << connection_close
      << ", clean idle closes " << idle_closes << "\n";
  for (const auto& [k, v] : failure_kinds) out << "  failure: " << v << " x " << k << "\n";
  for (const auto& s : failure_samples) out << "  sample: " << s << "\n";
  for (const auto& [phase, map] : bodies) {
    for (const auto& [body, count] : map) {
      std::string shown = body.size() > 60 ? body.substr(0, 60) + "..." : body;
      for (auto& c : shown)
        if (c == '\n' || c == '\r') c = ' ';
      out << "  phase " << phase << ": " << count << " x \"" << shown << "\"\n";
    }
  }
  return out.str();
}

LoadDriver::LoadDriver(LoadOptions options) : options_(std::move(options)) {
  start_ = Clock::now();
  deadline_ = start_ + options_.duration;
  clients_.reserve(static_cast<std::size_t>(options_.connections));
  for (int i = 0; i < options_.connections; ++i) clients_.push_back(std::make_unique<Client>());
  try {
    for (auto& c : clients_) {
      Client* client = c.get();
      c->thread = std::thread([this, client] { run(*client); });
    }
  } catch (...) {
    stop();
    throw;
  }
}

LoadDriver::~LoadDriver() {
  stop();
}

void LoadDriver::run(Client& client) {
  const std::string request =
      "GET " + options_.target + " HTTP/1.1\r\nHost: " + options_.host +
      "\r\nUser-Agent: serverd-itest-load\r\n" +
      (options_.keep_alive ? std::string() : std::string("Connection: close\r\n")) + "\r\n";
  Socket sock;
  auto record_failure = [&](int phase, const std::string& why) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
    std::lock_guard lock(client.mutex);
    ++client.stats.failures;
    ++client.stats.failure_kinds[why];
    if (client.stats.failure_samples.size() < kMaxSamples)
      client.stats.failure_samples.push_back("t=" + std::to_string(ms) + "ms phase " +
                                             std::to_string(phase) + ": " + why);
  };
  for (std::uint64_t n = 0; n < options_.max_requests_per_thread; ++n) {
    if (stop_.load(std::memory_order_relaxed) || Clock::now() >= deadline_) break;
    const int phase = phase_.load();
    {
      std::lock_guard lock(client.mutex);
      ++client.stats.attempts;
    }
    const auto io_deadline = Clock::now() + options_.io_timeout;
    if (sock.open() && sock.reused()) {
      switch (sock.check_idle()) {
        case Socket::Idle::alive:
          break;
        case Socket::Idle::fin: {
          // Closed cleanly while idle, before we sent anything: reconnect (RFC 9112 9.3.1).
          std::lock_guard lock(client.mutex);
          ++client.stats.idle_closes;
          sock.close();
          break;
        }
        case Socket::Idle::reset:
          record_failure(phase, "idle keep-alive connection reset by the server");
          sock.close();
          break;
        case Socket::Idle::data:
          record_failure(phase, "unsolicited bytes on an idle keep-alive connection");
          sock.close();
          break;
      }
    }
    if (!sock.open()) {
      if (std::string why = sock.connect(options_.port, io_deadline); !why.empty()) {
        record_failure(phase, why);
        // Do not spin on a port that refuses: one failed attempt per millisecond per thread.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      std::lock_guard lock(client.mutex);
      ++client.stats.connects;
    }
    if (std::string why = sock.send_all(request, io_deadline); !why.empty()) {
      record_failure(phase, why);
      sock.close();
      continue;
    }
    Socket::Result r = sock.read_response(io_deadline, options_.max_body);
    if (!r.failure.empty()) {
      record_failure(phase, r.failure);
      sock.close();
      continue;
    }
    if (r.status != 200) {
      record_failure(phase, "status " + std::to_string(r.status));
    } else {
      std::lock_guard lock(client.mutex);
      ++client.stats.successes;
      ++client.stats.bodies[phase][r.body];
    }
    if (r.close) {
      std::lock_guard lock(client.mutex);
      ++client.stats.connection_close;
    }
    if (r.close || !options_.keep_alive) sock.await_close(Clock::now() + std::chrono::seconds(1));
  }
}

bool LoadDriver::wait_for_successes(std::uint64_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    if (snapshot().successes >= n) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

LoadStats LoadDriver::snapshot() const {
  if (joined_) return final_;
  LoadStats total;
  for (const auto& c : clients_) {
    std::lock_guard lock(c->mutex);
    total.merge(c->stats);
  }
  return total;
}

LoadStats LoadDriver::stop() {
  if (joined_) return final_;
  stop_.store(true);
  for (auto& c : clients_)
    if (c->thread.joinable()) c->thread.join();
  final_ = snapshot();
  joined_ = true;
  return final_;
}

}  // namespace serverd::itest
