#include "process/health_checker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"

namespace serverd {

class HealthChecker::Target final : public EventHandler {
 public:
  Target(HealthChecker& owner, const UpstreamConfig& up, std::size_t index)
      : owner_(owner),
        upstream_(up.name),
        index_(index),
        server_(up.servers[index]),
        check_(*up.health_check),
        interval_(owner.loop_.timers(), [this] { probe(); }),
        deadline_(owner.loop_.timers(), [this] { done(false, "timed out"); }) {}
  ~Target() { close(); }

  void schedule(std::chrono::milliseconds after) { interval_.arm(after); }

  void probe() {
    close();
    response_.clear();
    sent_ = 0;
    request_ = "GET " + check_.path + " HTTP/1.1\r\nHost: " + server_.address.to_string() +
               "\r\nUser-Agent: serverd-health-check\r\nConnection: close\r\n\r\n";
    fd_.reset(::socket(server_.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return done(false, std::string("socket(): ") + std::strerror(errno));
    int rc = ::connect(fd_.get(), server_.address.get(), server_.address.length);
    if (rc != 0 && errno != EINPROGRESS)
      return done(false, std::string("connect(): ") + std::strerror(errno));
    owner_.loop_.add(fd_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
    registered_ = true;
    deadline_.arm(check_.timeout);
  }

  void on_event(std::uint32_t events) override {
    if (!fd_) return;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return done(false, std::string("connect(): ") + std::strerror(err));
    if ((events & EPOLLOUT) && sent_ < request_.size()) {
      ssize_t n = ::send(fd_.get(), request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN)
        return done(false, std::string("send(): ") + std::strerror(errno));
      if (n > 0) sent_ += static_cast<std::size_t>(n);
      if (sent_ == request_.size()) owner_.loop_.modify(fd_.get(), EPOLLIN | EPOLLRDHUP, this);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[512];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) response_.append(buf, static_cast<std::size_t>(n));
      auto eol = response_.find("\r\n");
      if (eol != std::string::npos || n == 0 || response_.size() > 256) {
        // "HTTP/1.1 200 OK": the status line is all a health check needs.
        int status = 0;
        if (response_.size() >= 12 && response_.starts_with("HTTP/1."))
          status = std::atoi(response_.c_str() + 9);
        if (status == 0) return done(false, n == 0 ? "closed without a response" : "bad response");
        bool ok = check_.statuses.empty()
                      ? (status >= 200 && status < 400)
                      : std::find(check_.statuses.begin(), check_.statuses.end(), status) !=
                            check_.statuses.end();
        return done(ok, "status " + std::to_string(status));
      }
      if (n < 0 && errno != EAGAIN)
        return done(false, std::string("recv(): ") + std::strerror(errno));
    }
  }

  void done(bool ok, const std::string& detail) {
    close();
    deadline_.cancel();
    owner_.on_result(*this, ok, detail);
    schedule(check_.interval);
  }

  void close() {
    if (registered_) owner_.loop_.remove(fd_.get());
    registered_ = false;
    fd_.reset();
  }

  HealthChecker& owner_;
  std::string upstream_;
  std::size_t index_;
  UpstreamServerConfig server_;
  HealthCheckConfig check_;
  Timer interval_;
  Timer deadline_;
  UniqueFd fd_;
  bool registered_ = false;
  std::string request_;
  std::size_t sent_ = 0;
  std::string response_;
  bool up_ = true;
  int successes_ = 0;
  int failures_ = 0;
};

HealthChecker::HealthChecker(EventLoop& loop, const Config& config, Broadcast broadcast)
    : loop_(loop), broadcast_(std::move(broadcast)) {
  for (const auto& up : config.upstreams) {
    if (!up.health_check) continue;
    for (std::size_t i = 0; i < up.servers.size(); ++i) {
      targets_.push_back(std::make_unique<Target>(*this, up, i));
      targets_.back()->schedule(std::chrono::milliseconds(0));
    }
  }
}

HealthChecker::~HealthChecker() = default;

std::string HealthChecker::down_state() const {
  std::string out;
  for (const auto& t : targets_)
    if (!t->up_) out += t->upstream_ + " " + std::to_string(t->index_) + " down\n";
  return out;
}

void HealthChecker::on_result(Target& t, bool ok, const std::string& detail) {
  if (ok) {
    t.failures_ = 0;
    ++t.successes_;
  } else {
    t.successes_ = 0;
    ++t.failures_;
  }
  bool change =
      (t.up_ && t.failures_ >= t.check_.fall) || (!t.up_ && t.successes_ >= t.check_.rise);
  if (!change) return;
  t.up_ = !t.up_;
  t.successes_ = t.failures_ = 0;
  if (t.up_)
    spdlog::info("health check: upstream \"{}\" server {} is up ({})", t.upstream_,
                 t.server_.address.to_string(), detail);
  else
    spdlog::warn("health check: upstream \"{}\" server {} is down ({})", t.upstream_,
                 t.server_.address.to_string(), detail);
  broadcast_(t.upstream_ + " " + std::to_string(t.index_) + (t.up_ ? " up\n" : " down\n"));
}

}  // namespace serverd
