#pragma once
// The HTTP side of a worker: its listeners, its connections and the per-process pools they share.
// It neither creates nor closes listening sockets: the process layer owns those, so the same
// socket can be handed to the next generation of workers.
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "event/buffer.hpp"
#include "event/loop.hpp"
#include "http/accept_pauses.hpp"
#include "http/http_date.hpp"
#include "http/request.hpp"
#include "http/request_parser.hpp"
#include "http/router.hpp"
#include "tls/ticket_keys.hpp"

namespace serverd {

class Connection;
struct ExchangeLog;
class ModuleList;
class WorkerContext;

// Parser + request, pooled so an idle connection holds neither.
struct RequestSlot {
  RequestParser parser;
  Request request;
};

class HttpServer {
 public:
  HttpServer(EventLoop& loop, ConfigPtr config, const ModuleList& modules, WorkerContext& worker);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts accepting on an already listening socket bound to `address` (which must be one of
  // the config's listen addresses). The descriptor stays owned by the caller.
  void add_listener(int fd, const SocketAddress& address, bool exclusive);
  void stop_accepting();
  // Stops accepting and drains every connection (see Connection::drain). The listening
  // descriptors of this process are closed: a quitting worker keeps no socket open that the
  // kernel would go on completing handshakes for (other processes' copies are theirs).
  void shutdown_gracefully();
  // Closes every connection at once.
  void close_all();
  std::size_t connection_count() const { return connection_count_; }
  // The session-ticket keys this worker's TLS listeners use (see tls/ticket_keys.hpp).
  TicketKeys& ticket_keys() { return ticket_keys_; }

  // A fatal internal error (an exception escaping a handler): the process layer decides what to
  // do (a worker tells the master it is leaving and drains).
  void set_fatal_handler(std::function<void(const std::string&)> handler) {
    fatal_handler_ = std::move(handler);
  }
  void report_fatal(const std::string& what) {
    if (fatal_handler_) fatal_handler_(what);
  }

  // --- for connections ---
  EventLoop& loop() { return loop_; }
  WorkerContext& worker() { return worker_; }
  BufferPool& buffers() { return buffers_; }
  const Config& config() const { return *config_; }
  const ModuleList& modules() const { return modules_; }
  bool draining() const { return draining_; }
  std::string_view date();
  RequestSlot* acquire_slot();
  void release_slot(RequestSlot* slot);
  void connection_closed(Connection* c);
  void log_exchange(const Request& request, const ExchangeLog& log, const ServerConfig* server,
                    const LocationConfig* location);

 private:
  class Listener;
  void accept_from(Listener& listener);
  // Stops accepting for a while because of a shortage (`what`: descriptors, memory,
  // worker_connections); `severe` logs at error rather than warn level.
  void pause_accepting(bool severe, const std::string& what);
  void resume_accepting();
  void trim_memory();

  EventLoop& loop_;
  ConfigPtr config_;
  const ModuleList& modules_;
  WorkerContext& worker_;
  Router router_;
  BufferPool buffers_;
  TicketKeys ticket_keys_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<RequestSlot>> free_slots_;
  Connection* connections_ = nullptr;
  std::size_t connection_count_ = 0;
  std::size_t max_connections_;
  bool accepting_ = false;
  bool draining_ = false;
  Timer accept_retry_;
  AcceptPauses pauses_;
  Timer trim_;  // returns spilled buffer pages to the kernel once a burst is over
  std::function<void(const std::string&)> fatal_handler_;
  std::time_t date_second_ = 0;
  char date_[kHttpDateLength] = {};
};

}  // namespace serverd
