#pragma once
// Timers on a binary min-heap. A Timer knows its heap slot, so re-arming (done on every request
// for a connection's idle/header/body/send deadline) is O(log n) with no allocation.
#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

namespace serverd {

using Clock = std::chrono::steady_clock;

class TimerQueue;

class Timer {
 public:
  using Callback = std::function<void()>;
  Timer(TimerQueue& queue, Callback callback) : queue_(&queue), callback_(std::move(callback)) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)schedules the timer `after` from the loop's cached "now".
  void arm(std::chrono::milliseconds after);
  void arm_at(Clock::time_point deadline);
  void cancel();
  bool armed() const { return index_ != kNotQueued; }
  Clock::time_point deadline() const { return deadline_; }

 private:
  friend class TimerQueue;
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  TimerQueue* queue_;
  Callback callback_;
  Clock::time_point deadline_{};
  std::size_t index_ = kNotQueued;
};

class TimerQueue {
 public:
  TimerQueue() { now_ = Clock::now(); }
  Clock::time_point now() const { return now_; }
  void update_now() { now_ = Clock::now(); }
  // Milliseconds until the earliest deadline (rounded up), -1 when no timer is armed.
  int next_timeout_ms() const;
  // Runs the callbacks of every expired timer. A callback may arm or cancel any timer.
  void run_expired();
  std::size_t size() const { return heap_.size(); }

 private:
  friend class Timer;
  void schedule(Timer* t, Clock::time_point deadline);
  void remove(Timer* t);
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void place(std::size_t i, Timer* t) {
    heap_[i] = t;
    t->index_ = i;
  }

  std::vector<Timer*> heap_;
  Clock::time_point now_;
};

}  // namespace serverd
