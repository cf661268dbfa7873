#pragma once
// Signals are read from a signalfd inside the event loop: no handler, no global flag, no race
// between checking a flag and sleeping in epoll_wait.
#include <csignal>
#include <functional>

#include "core/unique_fd.hpp"
#include "event/loop.hpp"

namespace serverd {

// Blocks `signals` for the calling process (they stay pending until read) and returns the set.
sigset_t block_signals(std::initializer_list<int> signals);

class SignalSource final : public EventHandler {
 public:
  using Handler = std::function<void(int signo)>;
  // Blocks `signals` for the process and delivers them to `handler` from the loop.
  SignalSource(EventLoop& loop, std::initializer_list<int> signals, Handler handler);
  ~SignalSource();
  SignalSource(const SignalSource&) = delete;
  SignalSource& operator=(const SignalSource&) = delete;

 private:
  void on_event(std::uint32_t events) override;
  EventLoop& loop_;
  sigset_t mask_;
  UniqueFd fd_;
  Handler handler_;
};

}  // namespace serverd
