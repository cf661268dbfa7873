// The listening sockets with real binds on 127.0.0.1: one shared socket per address, one per
// worker slot with reuseport, the very same socket kept across a rebuild (a reload), and the
// hand-over through the environment of a binary upgrade.
#include "process/listeners.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "core/config_loader.hpp"
#include "event/socket.hpp"
#include "modules/modules.hpp"
#include "process_test_support.hpp"

namespace serverd {
namespace {

std::string addr(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

// A config whose servers listen on `listen` (TOML array items), one server per entry.
ConfigPtr config_with(const std::vector<std::string>& listen) {
  std::string text;
  for (std::size_t i = 0; i < listen.size(); ++i)
    text += "[[server]]\nserver_name = [\"s" + std::to_string(i) + "\"]\nlisten = [" + listen[i] +
            "]\n[[server.location]]\npath = \"/\"\nreturn = 200\n";
  auto r = load_config_text(text, "test.toml", "/tmp", builtin_modules());
  BOOST_TEST_REQUIRE(r.errors.to_string() == "");
  return r.config;
}

std::string quoted(int port) {
  return "\"" + addr(port) + "\"";
}
std::string reuseport(int port, int backlog = 511) {
  return "{ address = \"" + addr(port) +
         "\", reuseport = true, backlog = " + std::to_string(backlog) + " }";
}

// A client connection to 127.0.0.1:port; invalid when refused.
UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
  return fd;
}

// Whether a connection is waiting in the accept queue of listening socket `fd` (and takes it).
bool accepts(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return false;
  UniqueFd c(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
  return static_cast<bool>(c);
}

bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

int reuseport_option(int fd) {
  int on = 0;
  socklen_t len = sizeof on;
  BOOST_REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == 0);
  return on;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_listeners)

BOOST_AUTO_TEST_CASE(one_shared_socket_per_address_for_every_slot) {
  const int p1 = test::free_loopback_port(), p2 = test::free_loopback_port();
  // Two servers on p1 (told apart by name) share one socket.
  const auto config = config_with({quoted(p1), quoted(p1) + ", " + quoted(p2)});
  const ListenerSet set = ListenerSet::build(*config, 3, {});
  BOOST_TEST_REQUIRE(set.sockets().size() == 2u);
  for (const auto& s : set.sockets()) {
    BOOST_TEST(s->slot == -1);
    BOOST_TEST(!s->reuseport);
    BOOST_TEST(reuseport_option(s->fd.get()) == 0);
  }
  BOOST_TEST(set.addresses().size() == 2u);
  BOOST_TEST(set.addresses()[0].to_string() == addr(p1));
  for (int slot = 0; slot < 3; ++slot) {
    const auto mine = set.for_slot(slot);
    BOOST_TEST_REQUIRE(mine.size() == 2u);
    BOOST_TEST(mine[0].fd == set.sockets()[0]->fd.get());
    BOOST_TEST(mine[0].exclusive);  // accepted on by all workers: EPOLLEXCLUSIVE
  }
  BOOST_TEST(set.all_fds().size() == 2u);
  auto client = connect_to(p2);
  BOOST_TEST_REQUIRE(static_cast<bool>(client));
  BOOST_TEST(accepts(set.sockets()[1]->fd.get()));
}

BOOST_AUTO_TEST_CASE(a_rebuild_keeps_the_same_socket_and_its_accept_queue) {
  const int kept = test::free_loopback_port(), removed = test::free_loopback_port();
  const int added = test::free_loopback_port();
  auto old_set = std::make_unique<ListenerSet>(
      ListenerSet::build(*config_with({quoted(kept), quoted(removed)}), 2, {}));
  const ListenSocketPtr old_kept = old_set->sockets()[0];
  // Queued before the reload, accepted after it by the new generation.
  auto waiting = connect_to(kept);
  BOOST_TEST_REQUIRE(static_cast<bool>(waiting));

  const ListenerSet new_set =
      ListenerSet::build(*config_with({quoted(added), quoted(kept)}), 2, old_set->sockets());
  BOOST_TEST_REQUIRE(new_set.sockets().size() == 2u);
  BOOST_TEST(new_set.sockets()[0]->address.to_string() == addr(added));
  BOOST_TEST(new_set.sockets()[1] == old_kept);  // the very same object and descriptor
  const int removed_fd = old_set->sockets()[1]->fd.get();

  old_set.reset();  // the old generation is gone: what only it used closes
  BOOST_TEST(!fd_open(removed_fd));
  BOOST_TEST(!connect_to(removed));
  BOOST_TEST(fd_open(old_kept->fd.get()));
  BOOST_TEST(accepts(new_set.sockets()[1]->fd.get()));
  BOOST_TEST(static_cast<bool>(connect_to(added)));
}

BOOST_AUTO_TEST_CASE(reuseport_gets_one_socket_per_slot_reused_by_slot) {
  const int shared = test::free_loopback_port(), per_slot = test::free_loopback_port();
  const auto config = config_with({quoted(shared) + ", " + reuseport(per_slot)});
  const ListenerSet three = ListenerSet::build(*config, 3, {});
  BOOST_TEST_REQUIRE(three.sockets().size() == 4u);
  for (int slot = 0; slot < 3; ++slot) {
    const auto& s = three.sockets()[static_cast<std::size_t>(slot) + 1];
    BOOST_TEST(s->slot == slot);
    BOOST_TEST(s->reuseport);
    BOOST_TEST(reuseport_option(s->fd.get()) == 1);
    BOOST_TEST(s->address.to_string() == addr(per_slot));
    // A worker gets the shared socket and its own slot's, not the other slots'.
    const auto mine = three.for_slot(slot);
    BOOST_TEST_REQUIRE(mine.size() == 2u);
    BOOST_TEST(mine[0].fd == three.sockets()[0]->fd.get());
    BOOST_TEST(mine[0].exclusive);
    BOOST_TEST(mine[1].fd == s->fd.get());
    BOOST_TEST(!mine[1].exclusive);
  }
  BOOST_TEST(three.addresses().size() == 2u);

  // Fewer workers: the first slots keep their sockets. More: the new slot binds its own.
  const ListenerSet two = ListenerSet::build(*config, 2, three.sockets());
  BOOST_TEST_REQUIRE(two.sockets().size() == 3u);
  BOOST_TEST(two.sockets()[1] == three.sockets()[1]);
  BOOST_TEST(two.sockets()[2] == three.sockets()[2]);
  const ListenerSet four = ListenerSet::build(*config, 4, three.sockets());
  BOOST_TEST_REQUIRE(four.sockets().size() == 5u);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(four.sockets()[i] == three.sockets()[i]);
  BOOST_TEST(four.sockets()[4]->slot == 3);
  BOOST_TEST(reuseport_option(four.sockets()[4]->fd.get()) == 1);

  // The same address without reuseport is a different socket, bound anew (and refused while
  // the reuseport sockets hold the port).
  BOOST_CHECK_THROW(ListenerSet::build(*config_with({quoted(per_slot)}), 1, three.sockets()),
                    std::system_error);
}

BOOST_AUTO_TEST_CASE(a_reused_socket_takes_the_new_backlog) {
  const int port = test::free_loopback_port();
  const ListenerSet first = ListenerSet::build(*config_with({reuseport(port, 100)}), 1, {});
  BOOST_TEST(first.sockets()[0]->backlog == 100);
  const ListenerSet second =
      ListenerSet::build(*config_with({reuseport(port, 64)}), 1, first.sockets());
  BOOST_TEST(second.sockets()[0] == first.sockets()[0]);
  BOOST_TEST(second.sockets()[0]->backlog == 64);
}

BOOST_AUTO_TEST_CASE(an_address_in_use_is_named) {
  const int port = test::free_loopback_port();
  const ListenerSet holder = ListenerSet::build(*config_with({quoted(port)}), 1, {});
  try {
    ListenerSet::build(*config_with({quoted(port)}), 1, {});
    BOOST_FAIL("the second bind succeeded");
  } catch (const std::system_error& e) {
    BOOST_TEST(std::string(e.what()).find(addr(port)) != std::string::npos, e.what());
    BOOST_TEST(e.code().value() == EADDRINUSE);
  }
}

BOOST_AUTO_TEST_CASE(the_upgrade_environment_hands_over_only_matching_listeners) {
  const int shared = test::free_loopback_port(), per_slot = test::free_loopback_port();
  const auto config = config_with({quoted(shared) + ", " + reuseport(per_slot, 77)});
  const ListenerSet set = ListenerSet::build(*config, 2, {});
  const std::string env = set.to_environment();
  BOOST_TEST(env == std::to_string(set.sockets()[0]->fd.get()) + ",0,-1,511," + addr(shared) + ";" +
                        std::to_string(set.sockets()[1]->fd.get()) + ",1,0,77," + addr(per_slot) +
                        ";" + std::to_string(set.sockets()[2]->fd.get()) + ",1,1,77," +
                        addr(per_slot) + ";");

  // What the new binary inherits: copies of the descriptors, plus entries to refuse.
  const int a = ::dup(set.sockets()[0]->fd.get());
  const int b = ::dup(set.sockets()[2]->fd.get());
  const int wrong_address = ::dup(set.sockets()[1]->fd.get());
  test::Pipe pipe;
  const int not_listening = pipe.read_end.release();
  const std::string inherited = std::to_string(a) + ",0,-1,511," + addr(shared) + ";garbage;" +
                                std::to_string(wrong_address) + ",1,0,77," + addr(shared) + ";" +
                                std::to_string(not_listening) + ",0,-1,511," + addr(shared) + ";" +
                                std::to_string(b) + ",1,1,77," + addr(per_slot) + ";";
  const auto adopted = ListenerSet::from_environment(inherited);
  BOOST_TEST_REQUIRE(adopted.size() == 2u);
  BOOST_TEST(adopted[0]->fd.get() == a);
  BOOST_TEST(adopted[0]->address.to_string() == addr(shared));
  BOOST_TEST(adopted[0]->slot == -1);
  BOOST_TEST(adopted[1]->fd.get() == b);
  BOOST_TEST(adopted[1]->reuseport);
  BOOST_TEST(adopted[1]->slot == 1);
  BOOST_TEST(adopted[1]->backlog == 77);
  BOOST_TEST((::fcntl(a, F_GETFD) & FD_CLOEXEC) != 0);  // not passed on to its own children
  BOOST_TEST(!fd_open(wrong_address));
  BOOST_TEST(!fd_open(not_listening));

  // The new master's first build keeps what it inherited where its config still wants it.
  const ListenerSet taken = ListenerSet::build(*config, 2, adopted);
  BOOST_TEST(taken.sockets()[0] == adopted[0]);
  BOOST_TEST(taken.sockets()[2] == adopted[1]);
  BOOST_TEST(taken.sockets()[1]->fd.get() != set.sockets()[1]->fd.get());  // bound anew
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
