// The control socket over a real Unix stream socket: a command line in, the answer out once the
// master knows it, and who owns the socket path when two masters (an upgrade) use it.
#include "process/control.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "event/loop.hpp"
#include "process_test_support.hpp"

namespace serverd {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::optional<std::string> answer;
  std::string error;
};

// `serverd -s COMMAND` as main.cpp runs it, from another thread (it blocks until answered).
std::future<Outcome> ask(const std::filesystem::path& path, std::string command,
                         std::chrono::milliseconds timeout = 5s) {
  return std::async(std::launch::async, [path, command, timeout] {
    Outcome o;
    o.answer = send_control_command(path, command, timeout, &o.error);
    return o;
  });
}

// Runs the loop until the client thread has its outcome (bounded).
Outcome wait(EventLoop& loop, std::future<Outcome>& f) {
  test::pump_until(
      loop, [&] { return f.wait_for(0s) == std::future_status::ready; }, 10s);
  BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
  return f.get();
}

// A master's side: records the commands and keeps each request for the test to answer.
struct Server {
  explicit Server(EventLoop& loop, const std::filesystem::path& path)
      : control(loop, path,
                [this](const std::string& c, std::shared_ptr<ControlServer::Request> r) {
                  commands.push_back(c);
                  request = std::move(r);
                }) {}
  std::vector<std::string> commands;
  std::shared_ptr<ControlServer::Request> request;
  ControlServer control;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(process_control)

BOOST_AUTO_TEST_CASE(a_command_gets_the_answer_given_when_the_outcome_is_known) {
  test::ProcessTempDir dir;
  const auto path = control_socket_path(dir.path() / "serverd.pid");
  BOOST_TEST(path == dir.path() / "serverd.pid.ctl");
  EventLoop loop;
  Server server(loop, path);
  auto reply = ask(path, "reload");
  BOOST_TEST_REQUIRE(test::pump_until(loop, [&] { return server.request != nullptr; }));
  BOOST_TEST(server.commands == std::vector<std::string>{"reload"},
             boost::test_tools::per_element());
  // The client waits for as long as the outcome takes.
  loop.run_once(100);
  BOOST_TEST((reply.wait_for(0s) == std::future_status::timeout));
  server.request->reply("ok generation 2");
  const Outcome o = wait(loop, reply);
  BOOST_TEST(o.error == "");
  BOOST_TEST(o.answer.value_or("<none>") == "ok generation 2");
}

BOOST_AUTO_TEST_CASE(the_socket_is_reachable_by_its_owner_only) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "s.ctl";
  EventLoop loop;
  Server server(loop, path);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 077) == 0u);
}

BOOST_AUTO_TEST_CASE(a_stale_socket_left_by_a_crash_is_replaced) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "s.ctl";
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    BOOST_TEST_REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  std::string error;
  BOOST_TEST(!send_control_command(path, "reload", 1s, &error));  // nobody listens there
  EventLoop loop;
  Server server(loop, path);
  auto reply = ask(path, "upgrade");
  BOOST_TEST_REQUIRE(test::pump_until(loop, [&] { return server.request != nullptr; }));
  server.request->reply("error an upgrade is already in progress");
  BOOST_TEST(wait(loop, reply).answer.value_or("") == "error an upgrade is already in progress");
}

BOOST_AUTO_TEST_CASE(close_removes_only_a_path_that_is_still_its_own) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "s.ctl";
  EventLoop loop;
  auto old_master = std::make_unique<Server>(loop, path);
  Server new_master(loop, path);  // an upgrade: the new master binds the same path
  old_master->control.close();
  BOOST_TEST(std::filesystem::exists(path));
  auto reply = ask(path, "reload");
  BOOST_TEST_REQUIRE(test::pump_until(loop, [&] { return new_master.request != nullptr; }));
  new_master.request->reply("ok generation 1");
  BOOST_TEST(wait(loop, reply).answer.value_or("") == "ok generation 1");
  BOOST_TEST(old_master->commands.empty());

  // A rolled-back upgrade: the old master takes the path back.
  old_master->control.rebind();
  auto again = ask(path, "reload");
  BOOST_TEST_REQUIRE(test::pump_until(loop, [&] { return old_master->request != nullptr; }));
  old_master->request->reply("ok generation 3");
  BOOST_TEST(wait(loop, again).answer.value_or("") == "ok generation 3");
}

BOOST_AUTO_TEST_CASE(a_command_line_that_never_ends_is_refused) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "s.ctl";
  EventLoop loop;
  Server server(loop, path);
  auto reply = std::async(std::launch::async, [&path] {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return std::string("connect failed");
    const std::string junk(200, 'x');  // no newline
    if (::send(fd.get(), junk.data(), junk.size(), MSG_NOSIGNAL) != 200) return std::string("send");
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    char buf[256];
    ssize_t n;
    while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) answer.append(buf, n);
    return answer;
  });
  test::pump_until(
      loop, [&] { return reply.wait_for(0s) == std::future_status::ready; }, 10s);
  BOOST_TEST_REQUIRE((reply.wait_for(0s) == std::future_status::ready));
  BOOST_TEST(reply.get() == "error command too long\n");
  BOOST_TEST(server.commands.empty());
}

BOOST_AUTO_TEST_CASE(the_client_names_what_went_wrong) {
  test::ProcessTempDir dir;
  std::string error;
  BOOST_TEST(!send_control_command(dir.path() / "none.ctl", "reload", 1s, &error));
  BOOST_TEST(error.find("cannot reach the master at \"" + (dir.path() / "none.ctl").string()) == 0u,
             error);
  BOOST_TEST(error.find("(is serverd running?)") != std::string::npos, error);

  error.clear();
  BOOST_TEST(!send_control_command(std::string(200, 'p'), "reload", 1s, &error));
  BOOST_TEST(error.find("is too long") != std::string::npos, error);

  const auto path = dir.path() / "s.ctl";
  EventLoop loop;
  auto server = std::make_unique<Server>(loop, path);
  auto slow = ask(path, "reload", 300ms);  // never answered
  Outcome o = wait(loop, slow);
  BOOST_TEST(!o.answer);
  BOOST_TEST(o.error == "no answer from the master within 300ms");

  // The master goes away with a request unanswered.
  server->request.reset();
  auto dropped = ask(path, "reload");
  BOOST_TEST_REQUIRE(test::pump_until(loop, [&] { return server->request != nullptr; }));
  server->request.reset();
  server.reset();
  o = wait(loop, dropped);
  BOOST_TEST(!o.answer);
  BOOST_TEST(o.error == "the master closed the control connection without an answer");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
