#include "process/control.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace serverd {

std::filesystem::path control_socket_path(const std::filesystem::path& pid_file) {
  return std::filesystem::path(pid_file.string() + ".ctl");
}

namespace {
bool fill_address(const std::filesystem::path& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return true;
}
}  // namespace

class ControlServer::Client final : public EventHandler,
                                    public ControlServer::Request,
                                    public std::enable_shared_from_this<Client> {
 public:
  Client(ControlServer& owner, UniqueFd fd)
      : owner_(owner), fd_(std::move(fd)), timer_(owner.loop_.timers(), [this] { finish(); }) {}
  void start() {
    owner_.loop_.add(fd_.get(), EPOLLIN, this);
    timer_.arm(std::chrono::seconds(5));  // for the command line to arrive
  }
  void reply(const std::string& text) override {
    if (!fd_) return;
    std::string line = text + "\n";
    // Blocking is fine: the answer is tiny and the peer is waiting for it.
    ::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    finish();
  }

 private:
  void on_event(std::uint32_t /*events*/) override {
    char buf[256];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      finish();
      return;
    }
    line_.append(buf, static_cast<std::size_t>(n));
    auto nl = line_.find('\n');
    if (nl == std::string::npos) {
      if (line_.size() > 128) reply("error command too long");
      return;
    }
    std::string command = line_.substr(0, nl);
    owner_.loop_.remove(fd_.get());
    timer_.cancel();
    owner_.on_command_(command, shared_from_this());
  }
  void finish() {
    if (!fd_) return;
    owner_.loop_.remove(fd_.get());
    fd_.reset();
    timer_.cancel();
    auto self = shared_from_this();
    owner_.clients_.remove(self);
    owner_.loop_.defer([self] {});  // released after the current batch of events
  }

  ControlServer& owner_;
  UniqueFd fd_;
  Timer timer_;
  std::string line_;
};

class ControlServer::Acceptor final : public EventHandler {
 public:
  explicit Acceptor(ControlServer& owner) : owner_(owner) {}
  void on_event(std::uint32_t /*events*/) override {
    for (int i = 0; i < 16; ++i) {
      int fd = ::accept4(owner_.fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      auto client = std::make_shared<Client>(owner_, UniqueFd(fd));
      owner_.clients_.push_back(client);
      client->start();
    }
  }

 private:
  ControlServer& owner_;
};

ControlServer::ControlServer(EventLoop& loop, std::filesystem::path path, OnCommand on_command)
    : loop_(loop), path_(std::move(path)), on_command_(std::move(on_command)) {
  open();
}

ControlServer::~ControlServer() {
  close();
}

void ControlServer::open() {
  sockaddr_un addr;
  if (!fill_address(path_, addr)) {
    spdlog::error("control socket path \"{}\" is too long; serverd -s will not be synchronous",
                  path_.string());
    return;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ::unlink(path_.c_str());
  // Only the master's own user may drive it.
  mode_t old_mask = ::umask(077);
  bool ok = fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::listen(fd.get(), 16) == 0;
  ::umask(old_mask);
  if (!ok) {
    spdlog::error("cannot open control socket \"{}\": {}", path_.string(), std::strerror(errno));
    return;
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    bound_dev_ = st.st_dev;
    bound_ino_ = st.st_ino;
  }
  fd_ = std::move(fd);
  acceptor_ = std::make_unique<Acceptor>(*this);
  loop_.add(fd_.get(), EPOLLIN, acceptor_.get());
}

void ControlServer::rebind() {
  if (fd_) {
    loop_.remove(fd_.get());
    fd_.reset();
  }
  open();
}

void ControlServer::close() {
  if (!fd_) return;
  loop_.remove(fd_.get());
  // Remove the path only if it still names our socket (a new master may own it now).
  struct stat by_path {};
  if (::stat(path_.c_str(), &by_path) == 0 && by_path.st_dev == bound_dev_ &&
      by_path.st_ino == bound_ino_)
    ::unlink(path_.c_str());
  fd_.reset();
}

std::optional<std::string> send_control_command(const std::filesystem::path& path,
                                                const std::string& command,
                                                std::chrono::milliseconds timeout,
                                                std::string* error) {
  sockaddr_un addr;
  if (!fill_address(path, addr)) {
    *error = "control socket path \"" + path.string() + "\" is too long";
    return std::nullopt;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "cannot reach the master at \"" + path.string() + "\": " + std::strerror(errno) +
             " (is serverd running?)";
    return std::nullopt;
  }
  std::string line = command + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    *error = std::string("cannot send the command: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "no answer from the master within " + std::to_string(timeout.count()) + "ms";
      return std::nullopt;
    }
    pollfd p{fd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.size() > 1 << 20) break;
  }
  if (answer.empty()) {
    *error = "the master closed the control connection without an answer";
    return std::nullopt;
  }
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  return answer;
}

}  // namespace serverd
