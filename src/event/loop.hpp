#pragma once
// The epoll event loop: one per process, single-threaded. Descriptors are registered
// edge-triggered by their owners; deferred tasks run after the current batch of events so an
// object can be closed from inside a callback without freeing memory another pending event of
// the same batch still points to.
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/unique_fd.hpp"
#include "event/timer.hpp"

namespace serverd {

class EventHandler {
 public:
  virtual void on_event(std::uint32_t events) = 0;

 protected:
  ~EventHandler() = default;
};

class EventLoop {
 public:
  EventLoop();
  // Runs tasks still deferred (they free closed objects).
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Throw std::system_error: registration failures are programming or resource errors.
  void add(int fd, std::uint32_t events, EventHandler* handler);
  void modify(int fd, std::uint32_t events, EventHandler* handler);
  // Never throws: removing a descriptor that is already gone is harmless.
  void remove(int fd) noexcept;

  TimerQueue& timers() { return timers_; }
  Clock::time_point now() const { return timers_.now(); }

  // Runs until stop() (or until nothing is registered and no timer/task is pending).
  void run();
  // One iteration: wait at most max_wait_ms (-1 = until an event or timer), dispatch, run timers
  // and deferred tasks.
  void run_once(int max_wait_ms);
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }

  // Runs fn after the current batch of events (before the next wait).
  void defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

 private:
  void run_deferred();

  UniqueFd epoll_fd_;
  TimerQueue timers_;
  std::vector<epoll_event> events_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;
  bool stopping_ = false;
};

}  // namespace serverd
