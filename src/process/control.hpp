#pragma once
// The master's control socket (a Unix stream socket next to the pid file): `serverd -s reload`
// and `-s upgrade` send one command line and wait for the outcome, so the command exits 0 only
// when the new generation (or binary) is serving, and non-zero with the errors otherwise.
// Signals (kill -HUP, -USR2) keep working and simply get no answer.
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "core/unique_fd.hpp"
#include "event/loop.hpp"

namespace serverd {

std::filesystem::path control_socket_path(const std::filesystem::path& pid_file);

class ControlServer {
 public:
  class Request;
  // A command ("reload", "upgrade") and where to send the answer once it is known.
  using OnCommand = std::function<void(const std::string& command, std::shared_ptr<Request>)>;

  // Binds the socket (replacing a stale one). Failure is logged and leaves the server without
  // a control socket (signals still work).
  ControlServer(EventLoop& loop, std::filesystem::path path, OnCommand on_command);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Re-binds the path (after a rolled-back upgrade took it over).
  void rebind();
  // Stops listening and removes the path if it is still ours.
  void close();

 private:
  class Acceptor;
  class Client;
  void open();
  EventLoop& loop_;
  std::filesystem::path path_;
  OnCommand on_command_;
  UniqueFd fd_;
  // The socket file as bound: fstat() on a socket describes the socket, not the file, so the
  // file's own identity is what tells "still ours" from "a new master's" at close().
  dev_t bound_dev_ = 0;
  ino_t bound_ino_ = 0;
  std::unique_ptr<Acceptor> acceptor_;
  std::list<std::shared_ptr<Client>> clients_;
  friend class Acceptor;
  friend class Client;
};

class ControlServer::Request {
 public:
  virtual ~Request() = default;
  // "ok ..." or "error ...": the first word is the outcome, the rest is for the operator.
  virtual void reply(const std::string& text) = 0;
};

// Client side: sends `command` and waits up to `timeout` for the answer. nullopt (and why in
// *error) when the master cannot be reached.
std::optional<std::string> send_control_command(const std::filesystem::path& path,
                                                const std::string& command,
                                                std::chrono::milliseconds timeout,
                                                std::string* error);

}  // namespace serverd
