#include "process/signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace serverd {

sigset_t block_signals(std::initializer_list<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  return mask;
}

SignalSource::SignalSource(EventLoop& loop, std::initializer_list<int> signals, Handler handler)
    : loop_(loop), mask_(block_signals(signals)), handler_(std::move(handler)) {
  fd_.reset(::signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "signalfd");
  loop_.add(fd_.get(), EPOLLIN, this);
}

SignalSource::~SignalSource() {
  loop_.remove(fd_.get());
  ::sigprocmask(SIG_UNBLOCK, &mask_, nullptr);
}

void SignalSource::on_event(std::uint32_t /*events*/) {
  for (int i = 0; i < 64; ++i) {
    signalfd_siginfo info;
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) return;
    handler_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace serverd
