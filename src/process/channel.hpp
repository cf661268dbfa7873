#pragma once
// The master <-> child channel: one socketpair(AF_UNIX, SOCK_SEQPACKET) per child, carrying
// one typed, length-checked Message per packet. A descriptor travels (SCM_RIGHTS) only with the
// message types that are defined to carry one; any other control data is rejected and closed.
// Workers and the agent talk to each other through the master, which relays by `to`.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/unique_fd.hpp"

namespace serverd {

enum class MessageType : std::uint16_t {
  ready = 1,          // child -> master: initialised and serving
  all_ready,          // master -> children: every process of the generation is ready
  leaving,            // worker -> master: fatal error, start my replacement now
  quit,               // master -> child: graceful shutdown
  terminate,          // master -> child: fast shutdown
  reopen,             // master -> child: reopen log files
  ping,               // test round trip (agent -> workers), relayed by the master
  pong,               // reply to ping (worker -> agent)
  text,               // free-form relayed text (diagnostics)
  module_message,     // "topic\npayload" for the modules of the receiving worker(s)
  rotate,             // agent -> master: files were renamed; have everyone reopen, then answer
  reopened,           // child -> master: reopened its log files (payload: the request id)
  rotate_done,        // master -> agent: every process reopened (payload: the request id)
  worker_ready,       // master -> agent: a worker (slot in payload) started; send it the state
  stopped_accepting,  // worker -> master: draining; no connection will be accepted here again
  ticket_key,         // agent -> master: a new TLS session-ticket key (payload: TicketKeys form)
  ticket_keys,        // master -> workers: the whole current set of ticket keys
};

std::string_view message_type_name(MessageType t);
// Whether this type of message carries a descriptor.
bool message_carries_fd(MessageType t);

// Process addresses: workers are their slot number (>= 0).
inline constexpr std::int32_t kMaster = -1;
inline constexpr std::int32_t kAgent = -2;
inline constexpr std::int32_t kAllWorkers = -3;

struct Message {
  static constexpr std::size_t kMaxPayload = 1024;
  struct Header {
    MessageType type;
    std::uint16_t reserved = 0;
    std::int32_t from = kMaster;
    std::int32_t to = kMaster;
    std::uint32_t length = 0;  // payload bytes that follow
  };
  Header header{};
  std::array<char, kMaxPayload> payload{};

  static Message make(MessageType type, std::int32_t from, std::int32_t to,
                      std::string_view text = {});
  std::string_view text() const { return {payload.data(), header.length}; }
};

class Channel {
 public:
  // A connected pair: first for the master, second for the child.
  static std::pair<Channel, Channel> make_pair();

  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  explicit operator bool() const { return static_cast<bool>(fd_); }
  void close() { fd_.reset(); }

  // false when the peer is gone or the socket buffer is full (the message is dropped: control
  // messages are tiny and infrequent, a full buffer means a stuck peer).
  bool send(const Message& m, int fd_to_pass = -1);
  enum class RecvStatus { message, again, closed, invalid };
  // One message; an fd that came with it is put in *fd (must be allowed for the type).
  RecvStatus receive(Message& m, UniqueFd* fd);

 private:
  UniqueFd fd_;
};

}  // namespace serverd
