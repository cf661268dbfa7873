#include "event/loop.hpp"

#include <cerrno>
#include <system_error>

namespace serverd {

EventLoop::EventLoop() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), events_(512) {
  if (!epoll_fd_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

EventLoop::~EventLoop() {
  for (int i = 0; i < 8 && !deferred_.empty(); ++i) run_deferred();
}

void EventLoop::add(int fd, std::uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
}

void EventLoop::modify(int fd, std::uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(MOD)");
}

void EventLoop::remove(int fd) noexcept {
  epoll_event ev{};
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, &ev);
}

void EventLoop::run() {
  stopping_ = false;
  while (!stopping_) run_once(-1);
}

void EventLoop::run_once(int max_wait_ms) {
  int timeout = timers_.next_timeout_ms();
  if (!deferred_.empty()) timeout = 0;
  if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms)) timeout = max_wait_ms;

  int n = ::epoll_wait(epoll_fd_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
  timers_.update_now();
  if (n < 0 && errno != EINTR)
    throw std::system_error(errno, std::generic_category(), "epoll_wait");
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<EventHandler*>(events_[i].data.ptr);
    handler->on_event(events_[i].events);
  }
  run_deferred();
  timers_.run_expired();
  run_deferred();
}

void EventLoop::run_deferred() {
  // Tasks may defer more tasks; those run in the next round, so a loop of them cannot starve I/O.
  if (deferred_.empty()) return;
  running_.swap(deferred_);
  for (auto& fn : running_) fn();
  running_.clear();
}

}  // namespace serverd
