#include "http/server.hpp"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/connection.hpp"
#include "http/module.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_session.hpp"

namespace serverd {
namespace {
constexpr std::chrono::milliseconds kTrimDelay{500};
// Short enough that the server serves again soon after a shortage ends (a connection closing
// resumes at once), long enough that a listener that stays readable costs nothing.
constexpr std::chrono::milliseconds kAcceptRetry{100};

void log_pause_line(const std::optional<AcceptPauses::Line>& line) {
  if (!line) return;
  if (line->severe)
    spdlog::error("{}", line->text);
  else
    spdlog::warn("{}", line->text);
}
}  // namespace

class HttpServer::Listener final : public EventHandler {
 public:
  Listener(HttpServer& owner, int fd, const SocketAddress& address, const ServerIndex& servers,
           bool exclusive, bool tls)
      : owner_(owner), fd_(fd), address_(address), servers_(servers), exclusive_(exclusive) {
    const ServerConfig& first = servers.select({});
    if (tls && first.tls && first.tls->context) tls_ctx_ = first.tls->context->get();
  }
  void on_event(std::uint32_t /*events*/) override { owner_.accept_from(*this); }

  void enable() {
    if (registered_) return;
    // EPOLLEXCLUSIVE: of the workers sharing this socket, one is woken per connection instead of
    // all of them (the thundering herd). Level-triggered, so a bounded accept loop loses nothing.
    owner_.loop().add(fd_, EPOLLIN | (exclusive_ ? EPOLLEXCLUSIVE : 0u), this);
    registered_ = true;
  }
  void disable() {
    if (!registered_ || fd_ < 0) return;
    owner_.loop().remove(fd_);
    registered_ = false;
  }

  HttpServer& owner_;
  int fd_;
  SocketAddress address_;
  const ServerIndex& servers_;
  bool exclusive_;
  bool registered_ = false;
  SSL_CTX* tls_ctx_ = nullptr;  // the default server's, for a TLS listener
};

namespace {
// SNI: the context of the server the name selects among those sharing the address.
SSL_CTX* select_by_name(const void* arg, std::string_view name) {
  const ServerConfig& server = static_cast<const ServerIndex*>(arg)->select(name);
  return server.tls && server.tls->context ? server.tls->context->get() : nullptr;
}
}  // namespace

HttpServer::HttpServer(EventLoop& loop, ConfigPtr config, const ModuleList& modules,
                       WorkerContext& worker)
    : loop_(loop),
      config_(std::move(config)),
      modules_(modules),
      worker_(worker),
      router_(*config_),
      max_connections_(static_cast<std::size_t>(config_->main.worker_connections)),
      accept_retry_(loop.timers(), [this] { resume_accepting(); }),
      pauses_(kAcceptRetry),
      trim_(loop.timers(), [this] { trim_memory(); }) {
  buffers_.set_spill_handler([this] {
    if (!trim_.armed()) trim_.arm(kTrimDelay);
  });
}

void HttpServer::trim_memory() {
  // At most once per kTrimDelay while blocks keep spilling (the next spill re-arms the timer):
  // malloc_trim hands the free pages in the middle of the heap back to the kernel.
  buffers_.take_spilled();
  ::malloc_trim(0);
}

HttpServer::~HttpServer() {
  close_all();
  for (auto& l : listeners_) l->disable();
}

void HttpServer::add_listener(int fd, const SocketAddress& address, bool exclusive) {
  const ServerIndex* servers = router_.servers_for(address);
  if (!servers) throw std::invalid_argument("no server listens on " + address.to_string());
  bool tls = false;
  for (const ListenConfig* l : router_.listeners())
    if (l->address == address) tls = l->tls;
  listeners_.push_back(std::make_unique<Listener>(*this, fd, address, *servers, exclusive, tls));
  listeners_.back()->enable();
  accepting_ = true;
}

void HttpServer::accept_from(Listener& listener) {
  // Bounded per wake-up so one flooded port cannot starve established connections.
  for (int i = 0; i < 64 && accepting_; ++i) {
    if (connection_count_ >= max_connections_) {
      pause_accepting(false, fmt::format("{} worker_connections are not enough", max_connections_));
      return;
    }
    SocketAddress peer;
    peer.length = sizeof peer.storage;
    int fd = ::accept4(listener.fd_, peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      switch (err) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
          return;
        case EINTR:
        case ECONNABORTED:
        // Errors of that one connection, which Linux reports through accept() (accept(2)).
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM:
          continue;
        default:
          // EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything that may persist: the connection
          // stays queued, and a level-triggered listener would report it again at once, so
          // only leaving epoll for a while keeps the worker from spinning.
          pause_accepting(true, fmt::format("accept() on {} failed: {}",
                                            listener.address_.to_string(), std::strerror(err)));
          return;
      }
    }
    UniqueFd client(fd);
    if (pauses_.pausing())
      log_pause_line(pauses_.accepted(loop_.now(), listener.address_.to_string()));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::unique_ptr<TlsSession> tls;
    if (listener.tls_ctx_ != nullptr) {
      tls = TlsSession::accept(listener.tls_ctx_, fd, &ticket_keys_, select_by_name,
                               &listener.servers_);
      if (!tls) {
        spdlog::error("cannot start a TLS session: {}", tls_error_text());
        continue;  // `client` closes the socket
      }
    }
    auto* c = new Connection(*this, std::move(client), peer, listener.address_, listener.servers_,
                             std::move(tls));
    c->next = connections_;
    if (connections_) connections_->prev = c;
    connections_ = c;
    ++connection_count_;
    c->start();
  }
}

void HttpServer::pause_accepting(bool severe, const std::string& what) {
  for (auto& l : listeners_) l->disable();
  accept_retry_.arm(kAcceptRetry);
  log_pause_line(pauses_.paused(loop_.now(), what, severe));
}

void HttpServer::resume_accepting() {
  if (!accepting_) return;
  if (connection_count_ >= max_connections_) {
    pause_accepting(false, fmt::format("{} worker_connections are not enough", max_connections_));
    return;
  }
  for (auto& l : listeners_) l->enable();
}

void HttpServer::stop_accepting() {
  accepting_ = false;
  accept_retry_.cancel();
  for (auto& l : listeners_) l->disable();
}

void HttpServer::shutdown_gracefully() {
  // Leave epoll first, then empty the accept queue: a connection queued before we left is
  // ours to serve (with EPOLLEXCLUSIVE its wake-up may have gone to us alone), and one queued
  // after wakes only the processes still accepting (the next generation, if any).
  std::vector<Listener*> sweep;
  for (auto& l : listeners_)
    if (l->registered_) sweep.push_back(l.get());
  stop_accepting();
  draining_ = true;
  for (Listener* l : sweep) {
    accepting_ = true;  // accept_from() runs only while accepting
    for (int i = 0; i < 16 && accepting_; ++i) {
      std::size_t before = connection_count_;
      accept_from(*l);
      if (connection_count_ == before) break;
    }
    accepting_ = false;
  }
  for (auto& l : listeners_) {
    if (l->fd_ >= 0) ::close(l->fd_);
    l->fd_ = -1;
  }
  for (Connection* c = connections_; c;) {
    Connection* next = c->next;  // drain() may close (and unlink) c
    c->drain();
    c = next;
  }
}

void HttpServer::close_all() {
  // abort() unlinks the connection from the list.
  while (connections_) connections_->abort();
}

std::string_view HttpServer::date() {
  std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    format_http_date(now, std::span<char, kHttpDateLength>(date_, kHttpDateLength));
  }
  return {date_, kHttpDateLength};
}

RequestSlot* HttpServer::acquire_slot() {
  if (free_slots_.empty()) return new RequestSlot();
  RequestSlot* s = free_slots_.back().release();
  free_slots_.pop_back();
  return s;
}

void HttpServer::release_slot(RequestSlot* slot) {
  // Keep a bounded number warm; a burst's extra slots are freed.
  if (free_slots_.size() < 1024) {
    free_slots_.emplace_back(slot);
    return;
  }
  delete slot;
}

void HttpServer::log_exchange(const Request& request, const ExchangeLog& log,
                              const ServerConfig* server, const LocationConfig* location) {
  const ModuleConfs* confs = location ? &location->modules : server ? &server->modules : nullptr;
  if (!confs) return;
  for (std::size_t i = 0; i < modules_.size() && i < confs->size(); ++i) {
    if (const ModuleConf* conf = (*confs)[i].get()) {
      try {
        modules_[i].log_exchange(request, log, *conf);
      } catch (const std::exception& e) {
        spdlog::error("module \"{}\" failed to log a request: {}", modules_[i].name(), e.what());
      }
    }
  }
}

void HttpServer::connection_closed(Connection* c) {
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (connections_ == c) connections_ = c->next;
  c->prev = c->next = nullptr;
  --connection_count_;
  // A descriptor and a connection slot are free again: accept now rather than at the retry.
  if (accepting_ && accept_retry_.armed()) accept_retry_.arm(std::chrono::milliseconds(0));
  // Freed after the current batch of events: one of them may still point at it.
  loop_.defer([c] { delete c; });
}

}  // namespace serverd
