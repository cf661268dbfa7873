#include "process/listeners.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <sstream>
#include <system_error>

#include "event/socket.hpp"
#include "http/router.hpp"

namespace serverd {

ListenerSet ListenerSet::build(const Config& config, int worker_slots,
                               const std::vector<ListenSocketPtr>& reuse) {
  ListenerSet set;
  Router router(config);
  auto find = [&](const SocketAddress& a, bool reuseport, int slot) -> ListenSocketPtr {
    for (const auto& s : reuse)
      if (s->address == a && s->reuseport == reuseport && s->slot == slot && s->fd) return s;
    return nullptr;
  };
  for (const ListenConfig* l : router.listeners()) {
    int count = l->reuseport ? worker_slots : 1;
    for (int i = 0; i < count; ++i) {
      int slot = l->reuseport ? i : -1;
      ListenSocketPtr s = find(l->address, l->reuseport, slot);
      if (s) {
        // listen() again on a listening socket only changes its backlog.
        if (s->backlog != l->backlog && ::listen(s->fd.get(), l->backlog) == 0)
          s->backlog = l->backlog;
      } else {
        s = std::make_shared<ListenSocket>();
        s->address = l->address;
        s->reuseport = l->reuseport;
        s->slot = slot;
        s->backlog = l->backlog;
        s->fd = open_listener(l->address, {l->backlog, l->reuseport});
      }
      set.sockets_.push_back(std::move(s));
    }
  }
  return set;
}

std::vector<WorkerListener> ListenerSet::for_slot(int slot) const {
  std::vector<WorkerListener> out;
  for (const auto& s : sockets_) {
    if (s->slot == -1)
      out.push_back({s->fd.get(), s->address, true});
    else if (s->slot == slot)
      out.push_back({s->fd.get(), s->address, false});
  }
  return out;
}

std::vector<int> ListenerSet::all_fds() const {
  std::vector<int> out;
  for (const auto& s : sockets_) out.push_back(s->fd.get());
  return out;
}

std::vector<SocketAddress> ListenerSet::addresses() const {
  std::vector<SocketAddress> out;
  for (const auto& s : sockets_) {
    bool seen = false;
    for (const auto& a : out) seen = seen || a == s->address;
    if (!seen) out.push_back(s->address);
  }
  return out;
}

std::string ListenerSet::to_environment() const {
  std::ostringstream out;
  for (const auto& s : sockets_) {
    out << s->fd.get() << ',' << (s->reuseport ? 1 : 0) << ',' << s->slot << ',' << s->backlog
        << ',' << s->address.to_string() << ';';
  }
  return out.str();
}

std::vector<ListenSocketPtr> ListenerSet::from_environment(const std::string& text) {
  std::vector<ListenSocketPtr> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    if (item.empty()) continue;
    std::istringstream fields(item);
    std::string fd_s, rp_s, slot_s, backlog_s, addr_s;
    if (!std::getline(fields, fd_s, ',') || !std::getline(fields, rp_s, ',') ||
        !std::getline(fields, slot_s, ',') || !std::getline(fields, backlog_s, ',') ||
        !std::getline(fields, addr_s))
      continue;
    std::string error;
    auto address = parse_listen_address(addr_s, &error);
    int fd = std::atoi(fd_s.c_str());
    if (!address || fd < 3) continue;
    auto s = std::make_shared<ListenSocket>();
    s->fd.reset(fd);
    // Only a listening socket bound where the variable says is adopted; anything else is closed.
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    try {
      if (!(local_address(fd) == *address)) continue;
      set_cloexec(fd, true);
    } catch (const std::system_error&) {
      continue;
    }
    s->address = *address;
    s->reuseport = rp_s == "1";
    s->slot = std::atoi(slot_s.c_str());
    s->backlog = std::atoi(backlog_s.c_str());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace serverd
