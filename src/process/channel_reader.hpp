#pragma once
#include <spdlog/spdlog.h>

#include <functional>

#include "event/loop.hpp"
#include "process/channel.hpp"

namespace serverd {

// Delivers a channel's messages from the event loop; reports the peer's end once.
class ChannelReader final : public EventHandler {
 public:
  using OnMessage = std::function<void(const Message&, UniqueFd)>;
  using OnClosed = std::function<void()>;

  ChannelReader(EventLoop& loop, Channel& channel, OnMessage on_message, OnClosed on_closed)
      : loop_(loop),
        channel_(channel),
        on_message_(std::move(on_message)),
        on_closed_(std::move(on_closed)) {
    loop_.add(channel_.fd(), EPOLLIN, this);
  }
  ~ChannelReader() { stop(); }
  ChannelReader(const ChannelReader&) = delete;
  ChannelReader& operator=(const ChannelReader&) = delete;

  void stop() {
    if (active_) loop_.remove(channel_.fd());
    active_ = false;
  }

 private:
  void on_event(std::uint32_t /*events*/) override {
    for (int i = 0; i < 64 && active_; ++i) {
      Message m;
      UniqueFd fd;
      switch (channel_.receive(m, &fd)) {
        case Channel::RecvStatus::message:
          on_message_(m, std::move(fd));
          break;
        case Channel::RecvStatus::again:
          return;
        case Channel::RecvStatus::invalid:
          spdlog::error("rejected an invalid message on the process channel");
          break;
        case Channel::RecvStatus::closed:
          stop();
          on_closed_();
          return;
      }
    }
  }

  EventLoop& loop_;
  Channel& channel_;
  OnMessage on_message_;
  OnClosed on_closed_;
  bool active_ = true;
};

}  // namespace serverd
