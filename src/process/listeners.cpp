#include "process/listeners.hpp"

#include "event/socket.hpp"
#include "http/router.hpp"

namespace serverd {

ListenerSet::ListenerSet(const Config& config, int worker_slots) {
  Router router(config);
  for (const ListenConfig* l : router.listeners()) {
    Entry e{l->address, l->reuseport, {}};
    int count = l->reuseport ? worker_slots : 1;
    for (int i = 0; i < count; ++i)
      e.fds.push_back(open_listener(l->address, {l->backlog, l->reuseport}));
    entries_.push_back(std::move(e));
  }
}

std::vector<WorkerListener> ListenerSet::for_slot(int slot) const {
  std::vector<WorkerListener> out;
  for (const auto& e : entries_) {
    if (e.reuseport) {
      const auto& fd = e.fds[static_cast<std::size_t>(slot) % e.fds.size()];
      out.push_back({fd.get(), e.address, false});
    } else {
      out.push_back({e.fds.front().get(), e.address, true});
    }
  }
  return out;
}

std::vector<int> ListenerSet::all_fds() const {
  std::vector<int> out;
  for (const auto& e : entries_)
    for (const auto& fd : e.fds) out.push_back(fd.get());
  return out;
}

std::vector<SocketAddress> ListenerSet::addresses() const {
  std::vector<SocketAddress> out;
  for (const auto& e : entries_) out.push_back(e.address);
  return out;
}

}  // namespace serverd
