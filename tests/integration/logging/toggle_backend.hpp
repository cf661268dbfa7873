#pragma once
// A tiny HTTP/1.1 origin for health-check tests that can be stopped and started again on the
// same port, and whose /health answer can be switched between 200 and 503. It answers every
// other GET with 200 "NAME\n" (keep-alive), and records each request with its time, so a test
// can tell health probes from proxied requests and order them.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace serverd::itest::logging {

class ToggleBackend {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hit {
    Clock::time_point at;
    bool health = false;  // a request for /health (else a proxied one)
  };

  explicit ToggleBackend(std::string name) : name_(std::move(name)) { start(); }
  ~ToggleBackend() { stop(); }
  ToggleBackend(const ToggleBackend&) = delete;
  ToggleBackend& operator=(const ToggleBackend&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return listen_fd_ >= 0; }

  // Listens on the same port as before (an ephemeral one the first time).
  void start() {
    if (listen_fd_ >= 0) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 128) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port_));
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen_fd_ = fd;
    stopping_ = false;
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  // Stops listening and closes every connection (the port refuses connections afterwards).
  void stop() {
    if (listen_fd_ < 0) return;
    stopping_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
    {
      std::lock_guard lock(mutex_);
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conns_) t.join();
    conns_.clear();
    std::lock_guard lock(mutex_);
    conn_fds_.clear();
  }

  void set_healthy(bool healthy) { healthy_ = healthy; }

  std::vector<Hit> hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
  }
  std::size_t proxied_count() const {
    std::size_t n = 0;
    for (const auto& h : hits()) n += h.health ? 0 : 1;
    return n;
  }
  void clear_hits() {
    std::lock_guard lock(mutex_);
    hits_.clear();
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      conn_fds_.push_back(fd);
      conns_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string in;
    char buf[4096];
    for (int i = 0; i < 100000 && !stopping_; ++i) {
      const std::size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      const bool health = head.starts_with("GET /health ");
      const bool close = head.find("Connection: close") != std::string::npos ||
                         head.find("connection: close") != std::string::npos;
      {
        std::lock_guard lock(mutex_);
        hits_.push_back({Clock::now(), health});
      }
      const int status = health && !healthy_ ? 503 : 200;
      const std::string body = name_ + "\n";
      const std::string response =
          "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Service Unavailable") +
          "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" + body;
      if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(response.size()))
        break;
      if (close) break;
    }
    ::shutdown(fd, SHUT_RDWR);
    std::lock_guard lock(mutex_);
    std::erase(conn_fds_, fd);
    ::close(fd);
  }

  std::string name_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> healthy_{true};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::list<std::thread> conns_;
  std::vector<int> conn_fds_;
  std::vector<Hit> hits_;
};

}  // namespace serverd::itest::logging
