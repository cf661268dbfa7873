#include "process/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace serverd {

std::string_view message_type_name(MessageType t) {
  switch (t) {
    case MessageType::ready:
      return "ready";
    case MessageType::all_ready:
      return "all_ready";
    case MessageType::leaving:
      return "leaving";
    case MessageType::quit:
      return "quit";
    case MessageType::terminate:
      return "terminate";
    case MessageType::reopen:
      return "reopen";
    case MessageType::ping:
      return "ping";
    case MessageType::pong:
      return "pong";
    case MessageType::text:
      return "text";
    case MessageType::module_message:
      return "module_message";
    case MessageType::rotate:
      return "rotate";
    case MessageType::reopened:
      return "reopened";
    case MessageType::rotate_done:
      return "rotate_done";
    case MessageType::worker_ready:
      return "worker_ready";
    case MessageType::stopped_accepting:
      return "stopped_accepting";
    case MessageType::ticket_key:
      return "ticket_key";
    case MessageType::ticket_keys:
      return "ticket_keys";
  }
  return "unknown";
}

bool message_carries_fd(MessageType /*t*/) {
  // No message type carries a descriptor yet (listening sockets are inherited across fork);
  // the types that will (handing sockets to a new generation) opt in here.
  return false;
}

namespace {
bool known_type(std::uint16_t t) {
  return t >= static_cast<std::uint16_t>(MessageType::ready) &&
         t <= static_cast<std::uint16_t>(MessageType::ticket_keys);
}
}  // namespace

Message Message::make(MessageType type, std::int32_t from, std::int32_t to, std::string_view text) {
  Message m;
  m.header.type = type;
  m.header.from = from;
  m.header.to = to;
  std::size_t n = std::min(text.size(), kMaxPayload);
  if (n > 0) std::memcpy(m.payload.data(), text.data(), n);  // an empty view may be null
  m.header.length = static_cast<std::uint32_t>(n);
  return m;
}

std::pair<Channel, Channel> Channel::make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {Channel(UniqueFd(fds[0])), Channel(UniqueFd(fds[1]))};
}

bool Channel::send(const Message& m, int fd_to_pass) {
  if (!fd_) return false;
  iovec iov[2];
  iov[0] = {const_cast<Message::Header*>(&m.header), sizeof m.header};
  iov[1] = {const_cast<char*>(m.payload.data()), m.header.length};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n >= 0) return true;
    if (errno != EINTR) return false;
  }
}

Channel::RecvStatus Channel::receive(Message& m, UniqueFd* fd) {
  iovec iov[2];
  iov[0] = {&m.header, sizeof m.header};
  iov[1] = {m.payload.data(), m.payload.size()};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? RecvStatus::again : RecvStatus::closed;
  if (n == 0) return RecvStatus::closed;

  // Take ownership of every descriptor that arrived before judging the message, so that a
  // rejected message cannot leak descriptors into this process.
  UniqueFd received[4];
  int count = 0;
  bool bad_control = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < nfds; ++i) {
        int f;
        std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
        if (count < 4)
          received[count++].reset(f);
        else
          ::close(f);
      }
    } else {
      bad_control = true;
    }
  }
  auto size = static_cast<std::size_t>(n);
  if (bad_control || size < sizeof m.header ||
      !known_type(static_cast<std::uint16_t>(m.header.type)) ||
      m.header.length != size - sizeof m.header)
    return RecvStatus::invalid;
  bool wants_fd = message_carries_fd(m.header.type);
  if (count > 1 || (count == 1 && !wants_fd)) return RecvStatus::invalid;
  if (fd) *fd = count == 1 ? std::move(received[0]) : UniqueFd();
  return RecvStatus::message;
}

}  // namespace serverd
