#include "event/loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/address.hpp"
#include "core/unique_fd.hpp"
#include "event/socket.hpp"

using serverd::Clock;
using serverd::EventHandler;
using serverd::EventLoop;
using serverd::Timer;
using serverd::UniqueFd;
using namespace std::chrono_literals;

namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

void write_all(int fd, std::string_view s) {
  BOOST_REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
}

std::string read_some(int fd, std::size_t max) {
  std::string out(max, '\0');
  ssize_t n = ::read(fd, out.data(), max);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// Records every call; optionally reads a fixed number of bytes on each.
class Recorder final : public EventHandler {
 public:
  Recorder(std::vector<std::string>& log, std::string name, int fd = -1, std::size_t read_n = 0)
      : log_(log), name_(std::move(name)), fd_(fd), read_n_(read_n) {}
  void on_event(std::uint32_t events) override {
    ++calls;
    last_events = events;
    log_.push_back(name_);
    if (read_n_ > 0) data += read_some(fd_, read_n_);
    if (on_call) on_call();
  }
  int calls = 0;
  std::uint32_t last_events = 0;
  std::string data;
  std::function<void()> on_call;

 private:
  std::vector<std::string>& log_;
  std::string name_;
  int fd_;
  std::size_t read_n_;
};

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_loop)

BOOST_AUTO_TEST_CASE(edge_triggered_socket_fires_once_per_arrival) {
  EventLoop loop;
  SocketPair sp;
  std::vector<std::string> log;
  // Reads only 3 bytes per event: edge-triggered, the rest does not re-fire by itself.
  Recorder r(log, "r", sp.a.get(), 3);
  loop.add(sp.a.get(), EPOLLIN | EPOLLET, &r);

  loop.run_once(0);
  BOOST_TEST(r.calls == 0);  // nothing to read yet

  write_all(sp.b.get(), "abcdef");
  loop.run_once(50);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST((r.last_events & EPOLLIN) != 0u);
  BOOST_TEST(r.data == "abc");

  loop.run_once(0);
  BOOST_TEST(r.calls == 1);  // no new edge although "def" is still unread

  write_all(sp.b.get(), "g");
  loop.run_once(50);
  BOOST_TEST(r.calls == 2);
  BOOST_TEST(r.data == "abcdef");
}

BOOST_AUTO_TEST_CASE(peer_close_is_reported) {
  EventLoop loop;
  SocketPair sp;
  std::vector<std::string> log;
  Recorder r(log, "r");
  loop.add(sp.a.get(), EPOLLIN | EPOLLRDHUP | EPOLLET, &r);
  sp.b.reset();
  loop.run_once(50);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST((r.last_events & EPOLLRDHUP) != 0u);
}

BOOST_AUTO_TEST_CASE(modify_switches_interest_and_remove_silences) {
  EventLoop loop;
  SocketPair sp;
  std::vector<std::string> log;
  Recorder r(log, "r");
  Recorder other(log, "other");
  loop.add(sp.a.get(), EPOLLIN | EPOLLET, &r);
  loop.run_once(0);
  BOOST_TEST(r.calls == 0);

  // Writable right away; the handler pointer can change too.
  loop.modify(sp.a.get(), EPOLLOUT | EPOLLET, &other);
  loop.run_once(50);
  BOOST_TEST(r.calls == 0);
  BOOST_TEST(other.calls == 1);
  BOOST_TEST((other.last_events & EPOLLOUT) != 0u);

  loop.remove(sp.a.get());
  write_all(sp.b.get(), "x");
  loop.run_once(0);
  BOOST_TEST(other.calls == 1);
  BOOST_TEST(r.calls == 0);

  // Removing twice, or a descriptor never added, is harmless.
  loop.remove(sp.a.get());
  loop.remove(-1);
}

BOOST_AUTO_TEST_CASE(registration_errors_throw_system_error) {
  EventLoop loop;
  SocketPair sp;
  std::vector<std::string> log;
  Recorder r(log, "r");
  BOOST_CHECK_THROW(loop.add(-1, EPOLLIN, &r), std::system_error);
  loop.add(sp.a.get(), EPOLLIN | EPOLLET, &r);
  BOOST_CHECK_THROW(loop.add(sp.a.get(), EPOLLIN | EPOLLET, &r), std::system_error);  // EEXIST
  BOOST_CHECK_THROW(loop.modify(sp.b.get(), EPOLLIN, &r), std::system_error);  // not registered
}

BOOST_AUTO_TEST_CASE(deferred_tasks_run_after_the_whole_batch) {
  EventLoop loop;
  SocketPair s1, s2;
  std::vector<std::string> log;
  Recorder r1(log, "r1");
  Recorder r2(log, "r2");
  loop.add(s1.a.get(), EPOLLIN | EPOLLET, &r1);
  loop.add(s2.a.get(), EPOLLIN | EPOLLET, &r2);
  r1.on_call = [&] { loop.defer([&] { log.push_back("deferred1"); }); };
  r2.on_call = [&] { loop.defer([&] { log.push_back("deferred2"); }); };
  write_all(s1.b.get(), "1");
  write_all(s2.b.get(), "2");

  loop.run_once(50);

  BOOST_REQUIRE_EQUAL(log.size(), 4u);
  // Both events of the batch are dispatched before any deferred task; tasks keep their order.
  BOOST_TEST(((log[0] == "r1" && log[1] == "r2") || (log[0] == "r2" && log[1] == "r1")));
  BOOST_TEST(log[2] == (log[0] == "r1" ? "deferred1" : "deferred2"));
  BOOST_TEST(log[3] == (log[0] == "r1" ? "deferred2" : "deferred1"));
}

BOOST_AUTO_TEST_CASE(object_closed_in_a_batch_is_freed_only_after_it) {
  // The use-after-free defer() exists for: handler A closes B while B's event is still pending in
  // the same batch. B must still be alive when its event is dispatched.
  EventLoop loop;
  SocketPair s1, s2;
  std::vector<std::string> log;
  bool b_freed = false;
  bool b_saw_freed = false;
  Recorder a(log, "a");
  Recorder b(log, "b");
  a.on_call = [&] {
    loop.remove(s2.a.get());
    loop.defer([&] { b_freed = true; });
  };
  b.on_call = [&] { b_saw_freed = b_freed; };
  loop.add(s1.a.get(), EPOLLIN | EPOLLET, &a);
  loop.add(s2.a.get(), EPOLLIN | EPOLLET, &b);
  write_all(s1.b.get(), "1");
  write_all(s2.b.get(), "2");
  loop.run_once(50);
  BOOST_TEST(a.calls == 1);
  BOOST_TEST(b_freed);
  BOOST_TEST(!b_saw_freed);
}

BOOST_AUTO_TEST_CASE(pending_deferred_task_makes_run_once_not_block) {
  EventLoop loop;
  bool ran = false;
  loop.defer([&] { ran = true; });
  auto start = Clock::now();
  loop.run_once(200);  // would block 200 ms if the pending task were ignored
  BOOST_TEST(ran);
  BOOST_TEST(elapsed_ms(start) < 100.0);
}

BOOST_AUTO_TEST_CASE(task_deferred_by_a_task_runs_later_not_in_the_same_round) {
  EventLoop loop;
  std::vector<std::string> log;
  int rounds = 0;
  // Each task defers the next: must not starve the loop (one run_once returns).
  std::function<void()> chain = [&] {
    log.push_back("t" + std::to_string(rounds++));
    if (rounds < 10) loop.defer(chain);
  };
  loop.defer(chain);
  loop.run_once(0);
  BOOST_TEST(rounds >= 1);
  BOOST_TEST(rounds < 10);  // a self-deferring task does not run to exhaustion in one iteration
  for (int i = 0; i < 20 && rounds < 10; ++i) loop.run_once(0);
  BOOST_TEST(rounds == 10);
}

BOOST_AUTO_TEST_CASE(destructor_runs_still_deferred_tasks) {
  bool ran = false;
  {
    EventLoop loop;
    loop.defer([&] { ran = true; });
  }
  BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(timer_fires_through_run_once) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop.timers(), [&] { ++fired; });
  loop.timers().update_now();
  auto start = Clock::now();
  t.arm(15ms);
  BOOST_TEST(loop.timers().next_timeout_ms() == 15);
  int iterations = 0;
  while (fired == 0 && iterations < 10) {
    loop.run_once(1000);  // bounded; the timer itself must cut the wait short
    ++iterations;
  }
  BOOST_TEST(fired == 1);
  BOOST_TEST(iterations <= 2);
  double ms = elapsed_ms(start);
  BOOST_TEST(ms >= 14.0);
  BOOST_TEST(ms < 500.0);  // woke for the timer, not at the 1 s cap
  BOOST_TEST(!t.armed());
  // The loop's clock advanced with the wait.
  BOOST_TEST((loop.now() >= t.deadline()));
}

BOOST_AUTO_TEST_CASE(max_wait_bounds_run_once_when_a_timer_is_far) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop.timers(), [&] { ++fired; });
  t.arm(10s);
  auto start = Clock::now();
  loop.run_once(20);
  double ms = elapsed_ms(start);
  BOOST_TEST(fired == 0);
  BOOST_TEST(ms >= 15.0);
  BOOST_TEST(ms < 1000.0);
  BOOST_TEST(t.armed());
}

BOOST_AUTO_TEST_CASE(timer_callback_stops_run) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop.timers(), [&] {
    ++fired;
    loop.stop();
  });
  t.arm(5ms);
  loop.run();
  BOOST_TEST(fired == 1);
  BOOST_TEST(loop.stopping());
}

BOOST_AUTO_TEST_CASE(listener_accepts_through_the_loop) {
  // 127.0.0.1:0 (an ephemeral port; listen addresses in configs never use port 0).
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = 0;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto any_port =
      serverd::SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  UniqueFd listener = serverd::open_listener(any_port, {});
  auto bound = serverd::local_address(listener.get());
  BOOST_TEST(bound.port() != 0);
  BOOST_TEST(bound.host_string() == "127.0.0.1");
  // Non-blocking and close-on-exec.
  BOOST_TEST((::fcntl(listener.get(), F_GETFL) & O_NONBLOCK) != 0);
  BOOST_TEST((::fcntl(listener.get(), F_GETFD) & FD_CLOEXEC) != 0);

  EventLoop loop;
  std::vector<std::string> log;
  Recorder r(log, "listener");
  loop.add(listener.get(), EPOLLIN | EPOLLET, &r);

  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  BOOST_REQUIRE(client);
  BOOST_REQUIRE(::connect(client.get(), bound.get(), bound.length) == 0);
  for (int i = 0; i < 5 && r.calls == 0; ++i) loop.run_once(50);
  BOOST_TEST(r.calls == 1);
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  BOOST_TEST(static_cast<bool>(accepted));

  // The same address again, without SO_REUSEPORT: the error names it.
  try {
    serverd::open_listener(bound, {});
    BOOST_ERROR("second bind to the same port succeeded");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == EADDRINUSE);
    BOOST_TEST(std::string(e.what()).find("bind(127.0.0.1:" + std::to_string(bound.port()) + ")") !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(set_nonblocking_and_cloexec) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  UniqueFd r(fds[0]), w(fds[1]);
  BOOST_TEST((::fcntl(r.get(), F_GETFL) & O_NONBLOCK) == 0);
  serverd::set_nonblocking(r.get());
  BOOST_TEST((::fcntl(r.get(), F_GETFL) & O_NONBLOCK) != 0);
  char c;
  BOOST_TEST(::read(r.get(), &c, 1) == -1);  // would block: fails instead
  BOOST_TEST(errno == EAGAIN);
  serverd::set_cloexec(r.get(), true);
  BOOST_TEST((::fcntl(r.get(), F_GETFD) & FD_CLOEXEC) != 0);
  serverd::set_cloexec(r.get(), false);
  BOOST_TEST((::fcntl(r.get(), F_GETFD) & FD_CLOEXEC) == 0);
  BOOST_CHECK_THROW(serverd::set_nonblocking(-1), std::system_error);
}

BOOST_AUTO_TEST_CASE(pipe_registered_edge_triggered_fires_the_handler) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  EventLoop loop;
  std::vector<std::string> log;
  Recorder r(log, "pipe", rd.get(), 64);
  loop.add(rd.get(), EPOLLIN | EPOLLET, &r);
  write_all(wr.get(), "ping");
  loop.run_once(50);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.data == "ping");
  wr.reset();  // writer gone: EPOLLHUP
  loop.run_once(50);
  BOOST_TEST(r.calls == 2);
  BOOST_TEST((r.last_events & EPOLLHUP) != 0u);
}

BOOST_AUTO_TEST_SUITE_END()
