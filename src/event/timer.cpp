#include "event/timer.hpp"

#include <cassert>

namespace serverd {

void Timer::arm(std::chrono::milliseconds after) {
  arm_at(queue_->now() + after);
}

void Timer::arm_at(Clock::time_point deadline) {
  queue_->schedule(this, deadline);
}

void Timer::cancel() {
  if (armed()) queue_->remove(this);
}

int TimerQueue::next_timeout_ms() const {
  if (heap_.empty()) return -1;
  auto delta = heap_.front()->deadline_ - now_;
  if (delta <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(delta).count();
  return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

void TimerQueue::run_expired() {
  // Bounded: a callback that re-arms its timer for "now" would otherwise spin here forever.
  std::size_t budget = heap_.size() * 2 + 16;
  while (!heap_.empty() && heap_.front()->deadline_ <= now_ && budget-- > 0) {
    Timer* t = heap_.front();
    remove(t);
    t->callback_();  // may destroy t: touch nothing of it afterwards
  }
}

void TimerQueue::schedule(Timer* t, Clock::time_point deadline) {
  if (t->armed()) {
    auto old = t->deadline_;
    t->deadline_ = deadline;
    if (deadline < old)
      sift_up(t->index_);
    else
      sift_down(t->index_);
    return;
  }
  t->deadline_ = deadline;
  heap_.push_back(t);
  t->index_ = heap_.size() - 1;
  sift_up(t->index_);
}

void TimerQueue::remove(Timer* t) {
  assert(t->armed());
  std::size_t i = t->index_;
  Timer* last = heap_.back();
  heap_.pop_back();
  t->index_ = Timer::kNotQueued;
  if (last == t) return;
  place(i, last);
  sift_up(i);
  sift_down(last->index_);
}

void TimerQueue::sift_up(std::size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline_ <= t->deadline_) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, t);
}

void TimerQueue::sift_down(std::size_t i) {
  Timer* t = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->deadline_ < heap_[child]->deadline_) ++child;
    if (t->deadline_ <= heap_[child]->deadline_) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, t);
}

}  // namespace serverd
