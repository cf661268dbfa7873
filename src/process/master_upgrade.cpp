// Binary upgrade: re-exec with the listening sockets inherited, automatic rollback.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "event/socket.hpp"
#include "process/master.hpp"
#include "process/pid_file.hpp"
#include "process/sd_notify.hpp"

namespace serverd {

void Master::upgrade(RequestPtr request) {
  auto refuse = [&](const std::string& why) {
    spdlog::error("binary upgrade refused: {}", why);
    if (request) request->reply("error " + why);
  };
  if (phase_ != Phase::running) return refuse("serverd is shutting down");
  if (upgrade_pid_ != 0 || upgrade_timer_) return refuse("an upgrade is already in progress");
  if (parent_channel_) return refuse("this master is itself still taking over from another");
  Generation* g = active();
  if (!g) return refuse("serverd is not ready yet");
  if (exe_path_.empty()) return refuse("cannot tell which binary this process runs");

  const std::filesystem::path pid_path = pid_file_->path();
  const std::filesystem::path oldbin = pid_path.string() + ".oldbin";
  if (!pid_file_->rename_to(oldbin))
    return refuse("cannot rename the pid file to " + oldbin.string());

  auto ends = Channel::make_pair();
  // Every socket any generation listens on is handed over: the new master keeps those its
  // config uses and closes the rest once our generations are gone.
  std::string env = g->listeners.to_environment();
  std::vector<int> pass;
  for (const auto& s : g->listeners.sockets()) pass.push_back(s->fd.get());
  pass.push_back(ends.second.fd());
  std::filesystem::path exe = exe_path_;
  // A binary replaced on disk shows as "/usr/sbin/serverd (deleted)": the new file is wanted.
  std::string exe_s = exe.string();
  if (exe_s.ends_with(" (deleted)")) exe = exe_s.substr(0, exe_s.size() - 10);

  std::vector<std::string> args = options_.args;
  spdlog::default_logger()->flush();
  pid_t pid = ::fork();
  if (pid < 0) {
    pid_file_->rename_to(pid_path);
    return refuse(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    for (int fd : pass) set_cloexec(fd, false);
    ::setenv("SERVERD_LISTEN_FDS", env.c_str(), 1);
    ::setenv("SERVERD_UPGRADE_FD", std::to_string(ends.second.fd()).c_str(), 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "serverd: execv(%s) failed: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ends.second.close();
  upgrade_pid_ = pid;
  upgrade_channel_ = std::move(ends.first);
  upgrade_reader_ = std::make_unique<ChannelReader>(
      loop_, upgrade_channel_, [this](const Message& m, UniqueFd) { on_upgrade_message(m); },
      [] { /* its exit arrives as SIGCHLD */ });
  if (request) upgrade_requests_.push_back(std::move(request));
  upgrade_timer_ = std::make_unique<Timer>(loop_.timers(), [this] {
    upgrade_failed("the new master did not become ready within upgrade_timeout");
  });
  upgrade_timer_->arm(config_->main.upgrade_timeout);
  spdlog::info("binary upgrade: started {} (pid {}); pid file moved to {}", exe.string(), pid,
               oldbin.string());
}

void Master::on_upgrade_message(const Message& m) {
  if (m.header.type != MessageType::ready || !upgrade_timer_) return;
  pid_t new_pid = upgrade_pid_;
  upgrade_timer_.reset();
  retire_upgrade_reader();
  upgrade_pid_ = 0;  // it lives on without us
  spdlog::info("binary upgrade: the new master (pid {}) is serving; draining and exiting", new_pid);
  for (auto& r : upgrade_requests_) r->reply("ok new master pid " + std::to_string(new_pid));
  upgrade_requests_.clear();
  begin_quit();
}

void Master::upgrade_failed(const std::string& why) {
  if (!upgrade_timer_) return;
  upgrade_timer_.reset();
  retire_upgrade_reader();
  if (upgrade_pid_ != 0) {
    pid_t pid = upgrade_pid_;
    // TERM lets it stop the workers it started; KILL follows if it does not go.
    ::kill(pid, SIGTERM);
    auto killer = std::make_shared<std::unique_ptr<Timer>>();
    *killer = std::make_unique<Timer>(loop_.timers(), [this, pid, killer] {
      if (upgrade_pid_ == pid) ::kill(pid, SIGKILL);
      loop_.defer([killer] { killer->reset(); });
    });
    (*killer)->arm(std::chrono::seconds(2));
  }
  std::filesystem::path pid_path = pid_file_->path();
  std::string p = pid_path.string();
  if (p.ends_with(".oldbin")) pid_file_->rename_to(p.substr(0, p.size() - 7));
  control_->rebind();
  spdlog::error("binary upgrade failed: {}; rolled back, still serving", why);
  for (auto& r : upgrade_requests_) r->reply("error " + why + " (rolled back)");
  upgrade_requests_.clear();
}

void Master::retire_upgrade_reader() {
  // Called from inside the reader's own callback: it must outlive this batch of events.
  if (!upgrade_reader_) return;
  upgrade_reader_->stop();
  std::shared_ptr<ChannelReader> reader(std::move(upgrade_reader_));
  auto channel = std::make_shared<Channel>(std::move(upgrade_channel_));
  loop_.defer([reader, channel] {});
}

void Master::notify_old_master() {
  if (!parent_channel_) return;
  parent_channel_.send(Message::make(MessageType::ready, kMaster, kMaster));
  parent_channel_.close();
  sd_notify("MAINPID=" + std::to_string(::getpid()) + "\nREADY=1");
  spdlog::info("binary upgrade: told the old master (pid {}) that this one is serving",
               ::getppid());
}

}  // namespace serverd
