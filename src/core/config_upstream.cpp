// [[upstream]] blocks: named groups of backend servers.
#include <arpa/inet.h>

#include <array>
#include <limits>
#include <map>

#include "core/config_build.hpp"
#include "core/toml_types.hpp"

namespace serverd {
namespace {

constexpr std::array<std::string_view, 6> kUpstreamKeys{"name",      "balance", "hash_key",
                                                        "keepalive", "servers", "health_check"};
constexpr std::array<std::string_view, 6> kHealthCheckKeys{"path", "interval", "timeout",
                                                           "rise", "fall",     "status"};

void load_health_check(const toml::table& t, UpstreamConfig& up, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  const toml::node* node = t.get("health_check");
  if (!node) return;
  const toml::table* h = node->as_table();
  if (!h) {
    ctx.error(*node, "\"health_check\" must be a table, e.g. { path = \"/health\" }");
    return;
  }
  check_keys(*h, "in health_check", kHealthCheckKeys, ctx);
  HealthCheckConfig hc;
  if (auto v = ctx.get_string(*h, "path")) {
    if (v->empty() || (*v)[0] != '/' || v->find_first_of(" \r\n") != std::string::npos)
      ctx.error(*h->get("path"), "health_check \"path\" must start with \"/\" and contain no spaces");
    else
      hc.path = *v;
  }
  if (auto v = ctx.get_duration(*h, "interval")) hc.interval = *v;
  if (auto v = ctx.get_duration(*h, "timeout")) hc.timeout = *v;
  if (auto v = ctx.get_integer(*h, "rise", 1, 100)) hc.rise = static_cast<int>(*v);
  if (auto v = ctx.get_integer(*h, "fall", 1, 100)) hc.fall = static_cast<int>(*v);
  if (const toml::node* s = h->get("status")) {
    if (auto i = s->value<std::int64_t>()) {
      hc.statuses.push_back(static_cast<int>(*i));
    } else if (const toml::array* a = s->as_array()) {
      for (const auto& e : *a) {
        if (auto x = e.value<std::int64_t>(); x && *x >= 100 && *x <= 599)
          hc.statuses.push_back(static_cast<int>(*x));
        else
          ctx.error(e, "health_check \"status\" entries must be integers 100..599");
      }
    } else {
      ctx.error(*s, "health_check \"status\" must be an integer or an array of integers");
    }
  }
  up.health_check = std::move(hc);
}
constexpr std::array<std::string_view, 5> kUpstreamServerKeys{"address", "weight", "max_fails",
                                                              "fail_timeout", "backup"};

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_wildcard(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    const auto& addr = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&addr);
  }
  return false;
}

std::optional<UpstreamServerConfig> load_upstream_server(const toml::table& t, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  check_keys(t, "in an upstream server", kUpstreamServerKeys, ctx);
  UpstreamServerConfig server;
  server.pos = ctx.pos(t);
  bool ok = true;
  if (!t.contains("address")) {
    ctx.error(t, "missing required key \"address\" in an upstream server");
    ok = false;
  } else if (auto text = ctx.get_string(t, "address")) {
    std::string reason;
    auto addr = parse_listen_address(*text, &reason);
    // A listen-style bare port or wildcard host parses, but there is nothing to connect to.
    if (addr && (text->find(':') == std::string::npos || is_wildcard(*addr))) {
      addr.reset();
      reason = "expected the backend's host:port";
    }
    if (addr) {
      server.address_text = *text;
      server.address = *addr;
    } else {
      ctx.error(*t.get("address"), "invalid upstream server address \"" + *text + "\": " + reason);
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto v = ctx.get_integer(t, "weight", 1, 1000)) server.weight = static_cast<int>(*v);
  if (auto v = ctx.get_integer(t, "max_fails", 0, std::numeric_limits<int>::max()))
    server.max_fails = static_cast<int>(*v);
  if (auto v = ctx.get_duration(t, "fail_timeout")) server.fail_timeout = *v;
  if (auto v = ctx.get_bool(t, "backup")) server.backup = *v;
  if (!ok) return std::nullopt;
  return server;
}

void load_servers_of(const toml::table& t, UpstreamConfig& up, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  const toml::node* node = t.get("servers");
  if (node == nullptr) {
    ctx.error(t, "missing required key \"servers\" in [[upstream]]");
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    ctx.error(*node,
              "\"servers\" must be an array of tables, not " + std::string(a_type_name(*node)));
    return;
  }
  if (array->empty()) {
    ctx.error(*node, "\"servers\" must not be empty");
    return;
  }
  for (const toml::node& item : *array) {
    const auto* server = item.as_table();
    if (server == nullptr) {
      ctx.error(item,
                "each item of \"servers\" must be a table, not " + std::string(a_type_name(item)));
      continue;
    }
    if (auto s = load_upstream_server(*server, st)) up.servers.push_back(std::move(*s));
  }
}

}  // namespace

void load_upstreams(const toml::table& root, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  std::map<std::string, SourcePos, std::less<>> first_name_pos;
  for (const toml::table* t : tables_at(root, "upstream", ctx)) {
    check_keys(*t, "in [[upstream]]", kUpstreamKeys, ctx);
    UpstreamConfig up;
    up.pos = ctx.pos(*t);
    if (!t->contains("name")) {
      ctx.error(*t, "missing required key \"name\" in [[upstream]]");
    } else if (auto name = ctx.get_string(*t, "name")) {
      const toml::node& node = *t->get("name");
      if (!valid_name(*name)) {
        ctx.error(node, "invalid upstream name \"" + *name +
                            "\": use only letters, digits, \"_\", \".\" and \"-\"");
      } else if (auto it = first_name_pos.find(*name); it != first_name_pos.end()) {
        ctx.error(node, "duplicate upstream \"" + *name + "\" (first defined at " +
                            position_text(it->second) + ")");
      } else {
        first_name_pos.emplace(*name, ctx.pos(node));
      }
      up.name = *name;
    }
    if (auto v =
            ctx.get_enum(*t, "balance", {"round_robin", "least_conn", "ip_hash", "hash", "random"}))
      up.balance = *v;
    if (auto v = ctx.get_string(*t, "hash_key")) {
      if (up.balance != "hash") {
        // Silently ignoring it would hide that requests are not spread the way the user meant.
        ctx.error(*t->get("hash_key"), "\"hash_key\" is only used with balance = \"hash\"");
      } else if (v->empty()) {
        ctx.error(*t->get("hash_key"), "\"hash_key\" must not be empty");
      } else {
        up.hash_key = *v;
      }
    }
    if (up.balance == "hash" && up.hash_key.empty()) up.hash_key = "$request_uri";
    if (auto v = ctx.get_integer(*t, "keepalive", 0, std::numeric_limits<int>::max()))
      up.keepalive = static_cast<int>(*v);
    load_servers_of(*t, up, st);
    load_health_check(*t, up, st);
    st.config.upstreams.push_back(std::move(up));
  }
}

}  // namespace serverd
