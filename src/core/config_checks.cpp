// Checks across [[server]] blocks: servers that share a listening socket must agree on how the
// socket is set up, and a request on it must map to exactly one server.
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/config_build.hpp"

namespace serverd {
namespace {

std::string flag(bool b) {
  return b ? "true" : "false";
}

struct SocketUse {
  const ListenConfig* first = nullptr;
  const ListenConfig* default_server = nullptr;
};

void check_sockets(LoadState& st) {
  std::map<std::string, SocketUse> sockets;  // keyed by the canonical address text
  for (const ServerConfig& server : st.config.servers) {
    for (const ListenConfig& l : server.listen) {
      const std::string address = l.address.to_string();
      SocketUse& use = sockets[address];
      if (use.first == nullptr) {
        use.first = &l;
        if (l.default_server) use.default_server = &l;
        continue;
      }
      // One socket serves both servers, so its options cannot differ between them.
      for (auto [name, mine, theirs] :
           {std::tuple{"tls", l.tls, use.first->tls},
            std::tuple{"reuseport", l.reuseport, use.first->reuseport}}) {
        if (mine != theirs) {
          st.ctx.errors().add(l.pos, std::string("conflicting ") + name + " = " + flag(mine) +
                                         " for " + address + " (" + name + " = " + flag(theirs) +
                                         " at " + position_text(use.first->pos) + ")");
        }
      }
      if (l.default_server) {
        if (use.default_server != nullptr) {
          st.ctx.errors().add(l.pos, "duplicate default_server for " + address +
                                         " (first defined at " +
                                         position_text(use.default_server->pos) + ")");
        } else {
          use.default_server = &l;
        }
      }
    }
  }
}

void check_server_names(LoadState& st) {
  // (address, name) -> where the first server claimed it.
  std::map<std::pair<std::string, std::string>, SourcePos> claimed;
  const auto& servers = st.config.servers;
  for (std::size_t s = 0; s < servers.size(); ++s) {
    const ServerConfig& server = servers[s];
    // A server without names answers requests whose Host matches no other: name "".
    std::vector<std::string> names = server.server_names;
    if (names.empty()) names.emplace_back();
    std::set<std::string> seen;
    for (std::size_t n = 0; n < names.size(); ++n) {
      if (!seen.insert(names[n]).second) continue;  // repeated within one server: harmless
      for (const ListenConfig& l : server.listen) {
        const SourcePos here = server.server_names.empty() ? l.pos : server.server_name_pos[n];
        const std::string address = l.address.to_string();
        const auto [it, inserted] = claimed.try_emplace({address, names[n]}, here);
        if (!inserted) {
          st.ctx.errors().add(here, "duplicate server_name \"" + names[n] + "\" on " + address +
                                        " (first defined at " + position_text(it->second) + ")");
          break;  // one error per name is enough
        }
      }
    }
  }
}

}  // namespace

void check_listeners(LoadState& st) {
  check_sockets(st);
  check_server_names(st);
}

}  // namespace serverd
