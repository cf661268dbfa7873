#include "event/timer.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

using serverd::Clock;
using serverd::Timer;
using serverd::TimerQueue;
using namespace std::chrono_literals;

namespace {

// A set of timers that record, in a shared log, the id of each one that fires.
struct TimerSet {
  explicit TimerSet(TimerQueue& q, std::size_t n) {
    timers.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      timers.push_back(std::make_unique<Timer>(q, [this, i] { fired.push_back(i); }));
  }
  std::vector<std::unique_ptr<Timer>> timers;
  std::vector<std::size_t> fired;
};

// Deadlines strictly in the past of the queue's cached "now", so that run_expired() fires them
// all without any real waiting; distinct offsets make the expected order unambiguous.
std::vector<std::chrono::microseconds> distinct_offsets(std::size_t n, unsigned seed) {
  std::vector<std::chrono::microseconds> v;
  for (std::size_t i = 0; i < n; ++i) v.emplace_back(static_cast<long>(i) * 7 + 1);
  std::mt19937 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_timer)

BOOST_AUTO_TEST_CASE(many_random_deadlines_fire_in_deadline_order) {
  TimerQueue q;
  constexpr std::size_t n = 500;
  TimerSet set(q, n);
  auto offsets = distinct_offsets(n, 12345);
  for (std::size_t i = 0; i < n; ++i) set.timers[i]->arm_at(q.now() - offsets[i]);
  BOOST_TEST(q.size() == n);

  q.run_expired();

  BOOST_TEST(q.size() == 0u);
  BOOST_REQUIRE_EQUAL(set.fired.size(), n);
  // Earliest deadline = largest offset into the past.
  for (std::size_t k = 1; k < n; ++k)
    BOOST_TEST(offsets[set.fired[k - 1]] > offsets[set.fired[k]], "fire #" << k << " out of order");
  for (const auto& t : set.timers) BOOST_TEST(!t->armed());
}

BOOST_AUTO_TEST_CASE(only_expired_timers_fire_the_rest_stay_queued) {
  TimerQueue q;
  constexpr std::size_t n = 200;
  TimerSet set(q, n);
  std::mt19937 rng(99);
  std::vector<bool> past(n);
  std::size_t expected_fired = 0;
  for (std::size_t i = 0; i < n; ++i) {
    past[i] = rng() % 2 == 0;
    auto ms = std::chrono::milliseconds(1 + rng() % 1000);
    set.timers[i]->arm_at(past[i] ? q.now() - ms : q.now() + 1h + ms);
    expected_fired += past[i] ? 1 : 0;
  }
  q.run_expired();
  BOOST_TEST(set.fired.size() == expected_fired);
  BOOST_TEST(q.size() == n - expected_fired);
  for (std::size_t id : set.fired) BOOST_TEST(past[id]);
  for (std::size_t i = 0; i < n; ++i) BOOST_TEST(set.timers[i]->armed() == !past[i]);
  BOOST_TEST(std::is_sorted(set.fired.begin(), set.fired.end(), [&](std::size_t a, std::size_t b) {
    return set.timers[a]->deadline() < set.timers[b]->deadline();
  }));
}

BOOST_AUTO_TEST_CASE(deadline_equal_to_now_is_expired) {
  TimerQueue q;
  int fired = 0;
  Timer t(q, [&] { ++fired; });
  t.arm_at(q.now());
  q.run_expired();
  BOOST_TEST(fired == 1);
  BOOST_TEST(!t.armed());
}

BOOST_AUTO_TEST_CASE(cancel_from_the_middle_keeps_order_of_the_rest) {
  TimerQueue q;
  constexpr std::size_t n = 300;
  TimerSet set(q, n);
  auto offsets = distinct_offsets(n, 777);
  for (std::size_t i = 0; i < n; ++i) set.timers[i]->arm_at(q.now() - offsets[i]);
  std::size_t cancelled = 0;
  for (std::size_t i = 0; i < n; i += 3) {
    set.timers[i]->cancel();
    ++cancelled;
    BOOST_TEST(!set.timers[i]->armed());
  }
  // Cancelling twice is harmless.
  set.timers[0]->cancel();
  BOOST_TEST(q.size() == n - cancelled);

  q.run_expired();

  BOOST_REQUIRE_EQUAL(set.fired.size(), n - cancelled);
  for (std::size_t id : set.fired) BOOST_TEST(id % 3 != 0, "cancelled timer " << id << " fired");
  for (std::size_t k = 1; k < set.fired.size(); ++k)
    BOOST_TEST(offsets[set.fired[k - 1]] > offsets[set.fired[k]]);
}

BOOST_AUTO_TEST_CASE(destroying_an_armed_timer_unqueues_it) {
  TimerQueue q;
  int fired = 0;
  Timer keep(q, [&] { ++fired; });
  keep.arm_at(q.now() - 1ms);
  {
    Timer gone(q, [&] { fired += 100; });
    gone.arm_at(q.now() - 2ms);
    BOOST_TEST(q.size() == 2u);
  }
  BOOST_TEST(q.size() == 1u);
  q.run_expired();
  BOOST_TEST(fired == 1);
}

BOOST_AUTO_TEST_CASE(rearm_earlier_and_later_reorders) {
  TimerQueue q;
  TimerSet set(q, 4);
  set.timers[0]->arm_at(q.now() - 10ms);
  set.timers[1]->arm_at(q.now() - 20ms);
  set.timers[2]->arm_at(q.now() - 30ms);
  set.timers[3]->arm_at(q.now() - 40ms);
  // 3 becomes the latest, 0 the earliest, 2 moves into the future.
  set.timers[3]->arm_at(q.now() - 1ms);
  set.timers[0]->arm_at(q.now() - 50ms);
  set.timers[2]->arm_at(q.now() + 1h);
  BOOST_TEST(q.size() == 4u);  // re-arming never duplicates an entry
  q.run_expired();
  BOOST_TEST(set.fired == (std::vector<std::size_t>{0, 1, 3}), boost::test_tools::per_element());
  BOOST_TEST(set.timers[2]->armed());
  BOOST_TEST(q.size() == 1u);
  // Re-arm the future timer back into the past: it fires now.
  set.timers[2]->arm_at(q.now() - 1ms);
  q.run_expired();
  BOOST_TEST(set.fired.back() == 2u);
  BOOST_TEST(q.size() == 0u);
}

BOOST_AUTO_TEST_CASE(random_arm_rearm_cancel_matches_a_model) {
  TimerQueue q;
  constexpr std::size_t n = 128;
  TimerSet set(q, n);
  std::mt19937 rng(4242);
  // Model: the deadline offset (µs into the past) of each armed timer; -1 = not armed.
  std::vector<long> model(n, -1);
  long unique = 1;
  for (int step = 0; step < 5000; ++step) {
    std::size_t i = rng() % n;
    if (rng() % 4 == 0) {
      set.timers[i]->cancel();
      model[i] = -1;
    } else {
      // Unique offsets: ties would make the order ambiguous.
      long off = static_cast<long>(rng() % 1'000'000) * 10'000 + unique++;
      set.timers[i]->arm_at(q.now() - std::chrono::microseconds(off));
      model[i] = off;
    }
  }
  std::vector<std::size_t> expected;
  for (std::size_t i = 0; i < n; ++i)
    if (model[i] >= 0) expected.push_back(i);
  std::sort(expected.begin(), expected.end(),
            [&](std::size_t a, std::size_t b) { return model[a] > model[b]; });
  BOOST_TEST(q.size() == expected.size());
  q.run_expired();
  BOOST_TEST(set.fired == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(callback_cancels_a_later_timer) {
  TimerQueue q;
  std::vector<int> log;
  Timer b(q, [&] { log.push_back(2); });
  Timer c(q, [&] { log.push_back(3); });
  Timer a(q, [&] {
    log.push_back(1);
    b.cancel();
  });
  a.arm_at(q.now() - 30ms);
  b.arm_at(q.now() - 20ms);
  c.arm_at(q.now() - 10ms);
  q.run_expired();
  BOOST_TEST(log == (std::vector<int>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(!b.armed());
  BOOST_TEST(q.size() == 0u);
}

BOOST_AUTO_TEST_CASE(callback_arms_another_expired_timer_which_fires_in_the_same_run) {
  TimerQueue q;
  std::vector<int> log;
  Timer b(q, [&] { log.push_back(2); });
  Timer a(q, [&] {
    log.push_back(1);
    b.arm_at(q.now() - 1ms);
  });
  a.arm_at(q.now() - 5ms);
  q.run_expired();
  BOOST_TEST(log == (std::vector<int>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(callback_rearms_itself_for_later) {
  TimerQueue q;
  int fired = 0;
  std::unique_ptr<Timer> t;
  t = std::make_unique<Timer>(q, [&] {
    ++fired;
    t->arm(10s);
  });
  t->arm_at(q.now() - 1ms);
  q.run_expired();
  BOOST_TEST(fired == 1);
  BOOST_TEST(t->armed());
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST((t->deadline() == q.now() + 10s));
  BOOST_TEST(q.next_timeout_ms() == 10'000);
  q.run_expired();  // not yet due
  BOOST_TEST(fired == 1);
}

BOOST_AUTO_TEST_CASE(callback_rearming_itself_for_the_past_cannot_spin_forever) {
  TimerQueue q;
  int fired = 0;
  std::unique_ptr<Timer> t;
  t = std::make_unique<Timer>(q, [&] {
    ++fired;
    t->arm_at(q.now() - 1ms);
  });
  t->arm_at(q.now() - 1ms);
  q.run_expired();  // must return
  BOOST_TEST(fired >= 1);
  BOOST_TEST(fired <= 100);
  BOOST_TEST(t->armed());
}

BOOST_AUTO_TEST_CASE(callback_may_destroy_its_own_timer) {
  TimerQueue q;
  std::vector<int> log;
  std::unique_ptr<Timer> self;
  Timer other(q, [&] { log.push_back(2); });
  self = std::make_unique<Timer>(q, [&] {
    log.push_back(1);
    self.reset();
  });
  self->arm_at(q.now() - 2ms);
  other.arm_at(q.now() - 1ms);
  q.run_expired();
  BOOST_TEST(log == (std::vector<int>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(!self);
  BOOST_TEST(q.size() == 0u);
}

BOOST_AUTO_TEST_CASE(next_timeout_ms_rounds_up_and_caps) {
  TimerQueue q;
  BOOST_TEST(q.next_timeout_ms() == -1);  // nothing armed: wait forever
  Timer t(q, [] {});

  t.arm_at(q.now() + 1ns);
  BOOST_TEST(q.next_timeout_ms() == 1);  // never 0 for a future deadline: no busy loop
  t.arm_at(q.now() + 1ms);
  BOOST_TEST(q.next_timeout_ms() == 1);
  t.arm_at(q.now() + 1ms + 1ns);
  BOOST_TEST(q.next_timeout_ms() == 2);
  t.arm_at(q.now() + 999us);
  BOOST_TEST(q.next_timeout_ms() == 1);
  t.arm(250ms);
  BOOST_TEST(q.next_timeout_ms() == 250);
  t.arm_at(q.now());
  BOOST_TEST(q.next_timeout_ms() == 0);
  t.arm_at(q.now() - 5s);
  BOOST_TEST(q.next_timeout_ms() == 0);
  t.arm_at(q.now() + 1h);
  BOOST_TEST(q.next_timeout_ms() == 1'000'000);  // capped, fits epoll_wait's int

  // The earliest of several timers decides.
  Timer u(q, [] {});
  u.arm(40ms);
  BOOST_TEST(q.next_timeout_ms() == 40);
  u.cancel();
  BOOST_TEST(q.next_timeout_ms() == 1'000'000);
  t.cancel();
  BOOST_TEST(q.next_timeout_ms() == -1);
}

BOOST_AUTO_TEST_CASE(arm_is_relative_to_the_cached_now) {
  TimerQueue q;
  Timer t(q, [] {});
  auto before = q.now();
  t.arm(100ms);
  BOOST_TEST((t.deadline() == before + 100ms));
  q.update_now();
  BOOST_TEST((q.now() >= before));
  // update_now moves the clock forward, so the remaining time can only shrink.
  BOOST_TEST(q.next_timeout_ms() <= 100);
  BOOST_TEST(q.next_timeout_ms() >= 0);
}

BOOST_AUTO_TEST_SUITE_END()
