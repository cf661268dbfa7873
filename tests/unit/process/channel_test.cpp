// The master <-> child channel over a real SOCK_SEQPACKET socketpair: message framing, the
// descriptor that travels with SCM_RIGHTS, and the rejection (and closing) of anything else.
#include "process/channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "event/loop.hpp"
#include "process/channel_reader.hpp"
#include "process_test_support.hpp"

namespace serverd {
namespace {

// Sends one raw packet (header bytes + payload) on `fd`, optionally with control data.
void send_raw(int fd, const void* data, std::size_t size, const std::vector<int>& fds = {}) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  BOOST_REQUIRE(::sendmsg(fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(size));
}

// Whether the only remaining read end of the pipe behind `write_end` has been closed: writing
// then fails with EPIPE (SIGPIPE is ignored around the write).
bool readers_gone(int write_end) {
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  const bool gone = ::write(write_end, "x", 1) < 0 && errno == EPIPE;
  ::sigaction(SIGPIPE, &old, nullptr);
  return gone;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_channel)

BOOST_AUTO_TEST_CASE(a_message_arrives_whole_with_its_addresses) {
  auto [master, child] = Channel::make_pair();
  BOOST_TEST(master.send(Message::make(MessageType::rotate, kAgent, kMaster, "req-17")));
  Message m;
  UniqueFd fd;
  BOOST_TEST_REQUIRE(static_cast<int>(child.receive(m, &fd)) ==
                     static_cast<int>(Channel::RecvStatus::message));
  BOOST_TEST(static_cast<int>(m.header.type) == static_cast<int>(MessageType::rotate));
  BOOST_TEST(m.header.from == kAgent);
  BOOST_TEST(m.header.to == kMaster);
  BOOST_TEST(m.text() == "req-17");
  BOOST_TEST(!fd);
  // Nothing more is queued; the socket is non-blocking.
  BOOST_TEST(static_cast<int>(child.receive(m, &fd)) ==
             static_cast<int>(Channel::RecvStatus::again));
}

BOOST_AUTO_TEST_CASE(messages_keep_their_boundaries_and_order) {
  auto [a, b] = Channel::make_pair();
  const std::string big(Message::kMaxPayload, 'z');
  BOOST_TEST(a.send(Message::make(MessageType::text, kMaster, 0, "one")));
  BOOST_TEST(a.send(Message::make(MessageType::text, kMaster, 1, big + "cut off")));
  BOOST_TEST(a.send(Message::make(MessageType::quit, kMaster, 2)));
  Message m;
  BOOST_TEST_REQUIRE(static_cast<int>(b.receive(m, nullptr)) ==
                     static_cast<int>(Channel::RecvStatus::message));
  BOOST_TEST(m.text() == "one");
  BOOST_TEST_REQUIRE(static_cast<int>(b.receive(m, nullptr)) ==
                     static_cast<int>(Channel::RecvStatus::message));
  BOOST_TEST(m.header.to == 1);
  BOOST_TEST(m.text() == big);  // longer text is cut at kMaxPayload by Message::make
  BOOST_TEST_REQUIRE(static_cast<int>(b.receive(m, nullptr)) ==
                     static_cast<int>(Channel::RecvStatus::message));
  BOOST_TEST(static_cast<int>(m.header.type) == static_cast<int>(MessageType::quit));
  BOOST_TEST(m.text().empty());
}

BOOST_AUTO_TEST_CASE(the_peer_closing_is_reported_and_sending_then_fails) {
  auto [a, b] = Channel::make_pair();
  b.close();
  Message m;
  BOOST_TEST(static_cast<int>(a.receive(m, nullptr)) ==
             static_cast<int>(Channel::RecvStatus::closed));
  BOOST_TEST(!a.send(Message::make(MessageType::ping, kMaster, 0)));
  Channel empty;
  BOOST_TEST(!empty.send(Message::make(MessageType::ping, kMaster, 0)));
}

BOOST_AUTO_TEST_CASE(send_passes_a_real_descriptor_that_can_be_read_through) {
  auto [a, b] = Channel::make_pair();
  test::Pipe pipe;
  BOOST_TEST(a.send(Message::make(MessageType::text, kMaster, 0, "with fd"), pipe.read_end.get()));
  pipe.read_end.reset();  // the copy in flight is now the only read end

  // Read the packet by hand: Channel::receive refuses descriptors no message type expects.
  Message::Header header{};
  char payload[Message::kMaxPayload];
  iovec iov[2] = {{&header, sizeof header}, {payload, sizeof payload}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(b.fd(), &msg, MSG_CMSG_CLOEXEC);
  BOOST_TEST_REQUIRE(n == static_cast<ssize_t>(sizeof header + 7));
  BOOST_TEST(std::string(payload, header.length) == "with fd");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  BOOST_TEST_REQUIRE(c != nullptr);
  BOOST_TEST(c->cmsg_level == SOL_SOCKET);
  BOOST_TEST(c->cmsg_type == SCM_RIGHTS);
  int raw = -1;
  std::memcpy(&raw, CMSG_DATA(c), sizeof raw);
  UniqueFd received(raw);
  BOOST_TEST_REQUIRE(received.get() >= 0);

  BOOST_TEST_REQUIRE(::write(pipe.write_end.get(), "through the passed fd", 21) == 21);
  char buf[64] = {};
  pollfd p{received.get(), POLLIN, 0};
  BOOST_TEST_REQUIRE(::poll(&p, 1, 2000) == 1);
  BOOST_TEST(::read(received.get(), buf, sizeof buf) == 21);
  BOOST_TEST(std::string(buf) == "through the passed fd");
}

BOOST_AUTO_TEST_CASE(an_unexpected_descriptor_is_rejected_and_closed) {
  auto [a, b] = Channel::make_pair();
  test::Pipe pipe;
  BOOST_TEST(!message_carries_fd(MessageType::ready));
  BOOST_TEST(a.send(Message::make(MessageType::ready, 0, kMaster), pipe.read_end.get()));
  pipe.read_end.reset();
  BOOST_TEST(!readers_gone(pipe.write_end.get()));  // still open, in flight
  Message m;
  UniqueFd fd;
  BOOST_TEST(static_cast<int>(b.receive(m, &fd)) == static_cast<int>(Channel::RecvStatus::invalid));
  BOOST_TEST(!fd);
  // Closed on rejection, not leaked into the receiving process.
  BOOST_TEST(readers_gone(pipe.write_end.get()));
  // The channel itself stays usable.
  BOOST_TEST(a.send(Message::make(MessageType::ping, 0, kMaster)));
  BOOST_TEST(static_cast<int>(b.receive(m, &fd)) == static_cast<int>(Channel::RecvStatus::message));
}

BOOST_AUTO_TEST_CASE(several_descriptors_are_all_closed) {
  auto [a, b] = Channel::make_pair();
  test::Pipe p1, p2;
  const Message ready = Message::make(MessageType::ready, 0, kMaster);
  send_raw(a.fd(), &ready.header, sizeof ready.header, {p1.read_end.get(), p2.read_end.get()});
  p1.read_end.reset();
  p2.read_end.reset();
  Message m;
  UniqueFd fd;
  BOOST_TEST(static_cast<int>(b.receive(m, &fd)) == static_cast<int>(Channel::RecvStatus::invalid));
  BOOST_TEST(readers_gone(p1.write_end.get()));
  BOOST_TEST(readers_gone(p2.write_end.get()));
}

BOOST_AUTO_TEST_CASE(credentials_as_control_data_are_rejected) {
  auto [a, b] = Channel::make_pair();
  // With SO_PASSCRED every packet arrives with SCM_CREDENTIALS: control data no message
  // type expects.
  const int on = 1;
  BOOST_TEST_REQUIRE(::setsockopt(b.fd(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
  BOOST_TEST(a.send(Message::make(MessageType::ready, 0, kMaster)));
  Message m;
  UniqueFd fd;
  BOOST_TEST(static_cast<int>(b.receive(m, &fd)) == static_cast<int>(Channel::RecvStatus::invalid));
}

BOOST_AUTO_TEST_CASE(malformed_packets_are_rejected) {
  auto [a, b] = Channel::make_pair();
  Message m;
  auto receive = [&] { return static_cast<int>(b.receive(m, nullptr)); };
  const int invalid = static_cast<int>(Channel::RecvStatus::invalid);

  const char short_packet[3] = {1, 0, 0};
  send_raw(a.fd(), short_packet, sizeof short_packet);
  BOOST_TEST(receive() == invalid);

  Message unknown = Message::make(MessageType::ready, 0, kMaster);
  unknown.header.type = static_cast<MessageType>(0);
  send_raw(a.fd(), &unknown.header, sizeof unknown.header);
  BOOST_TEST(receive() == invalid);
  unknown.header.type = static_cast<MessageType>(999);
  send_raw(a.fd(), &unknown.header, sizeof unknown.header);
  BOOST_TEST(receive() == invalid);

  // The length field must match the payload that came with it.
  Message lying = Message::make(MessageType::text, 0, kMaster, "abc");
  lying.header.length = 10;
  std::string packet(reinterpret_cast<const char*>(&lying.header), sizeof lying.header);
  packet += "abc";
  send_raw(a.fd(), packet.data(), packet.size());
  BOOST_TEST(receive() == invalid);

  // Larger than the biggest message: truncated on receipt, so rejected.
  std::string huge(sizeof(Message::Header) + Message::kMaxPayload + 1, 'h');
  Message::Header h = Message::make(MessageType::text, 0, kMaster).header;
  h.length = Message::kMaxPayload + 1;
  std::memcpy(huge.data(), &h, sizeof h);
  send_raw(a.fd(), huge.data(), huge.size());
  BOOST_TEST(receive() == invalid);

  BOOST_TEST(receive() == static_cast<int>(Channel::RecvStatus::again));
}

BOOST_AUTO_TEST_CASE(the_reader_delivers_from_the_loop_and_reports_the_close_once) {
  EventLoop loop;
  auto [a, b] = Channel::make_pair();
  std::vector<std::string> texts;
  int closed = 0;
  ChannelReader reader(
      loop, b, [&](const Message& m, UniqueFd) { texts.emplace_back(m.text()); },
      [&] { ++closed; });
  const char junk[2] = {0, 0};
  BOOST_TEST(a.send(Message::make(MessageType::text, kMaster, 0, "first")));
  send_raw(a.fd(), junk, sizeof junk);  // dropped, the next message still arrives
  BOOST_TEST(a.send(Message::make(MessageType::text, kMaster, 0, "second")));
  BOOST_TEST(test::pump_until(loop, [&] { return texts.size() == 2; }));
  BOOST_TEST(texts == (std::vector<std::string>{"first", "second"}),
             boost::test_tools::per_element());
  a.close();
  BOOST_TEST(test::pump_until(loop, [&] { return closed == 1; }));
  loop.run_once(50);
  BOOST_TEST(closed == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
