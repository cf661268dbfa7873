// [[upstream]] blocks: named groups of backend servers, as directive tables (the upstream, each
// of its servers, its health check).
#include <arpa/inet.h>

#include <array>
#include <limits>
#include <map>

#include "core/config_build.hpp"
#include "core/config_core_rows.hpp"
#include "core/directive_rows.hpp"
#include "core/toml_types.hpp"

namespace serverd {
namespace {

using rows::field;

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();

// --- health_check = { ... } ---------------------------------------------------------------

void parse_check_path(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto v = ctx.read_string(node, row.name);
  if (!v) return;
  if (v->empty() || (*v)[0] != '/' || v->find_first_of(" \r\n") != std::string::npos)
    ctx.error(node, "health_check \"path\" must start with \"/\" and contain no spaces");
  else
    field<&HealthCheckConfig::path>(t) = *v;
}

void dump_check_path(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&HealthCheckConfig::path>(t));
}

void parse_statuses(const Directive& /*row*/, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& statuses = field<&HealthCheckConfig::statuses>(t);
  if (auto i = node.value<std::int64_t>()) {
    statuses.push_back(static_cast<int>(*i));
  } else if (const toml::array* a = node.as_array()) {
    for (const auto& e : *a) {
      if (auto x = e.value<std::int64_t>(); x && *x >= 100 && *x <= 599)
        statuses.push_back(static_cast<int>(*x));
      else
        ctx.error(e, "health_check \"status\" entries must be integers 100..599");
    }
  } else {
    ctx.error(node, "health_check \"status\" must be an integer or an array of integers");
  }
}

void dump_statuses(const Directive& row, const void* t, DumpOut& out) {
  const auto& statuses = field<&HealthCheckConfig::statuses>(t);
  if (statuses.empty()) return;
  toml::array a;
  for (int s : statuses) a.push_back(static_cast<std::int64_t>(s));
  out.put(row.name, std::move(a));
}

constexpr Directive kHealthCheckRows[] = {
    rows::custom("path", kAnyLevel, parse_check_path, dump_check_path),
    rows::duration<&HealthCheckConfig::interval>("interval", kAnyLevel),
    rows::duration<&HealthCheckConfig::timeout>("timeout", kAnyLevel),
    rows::integer<&HealthCheckConfig::rise>("rise", kAnyLevel, 1, 100),
    rows::integer<&HealthCheckConfig::fall>("fall", kAnyLevel, 1, 100),
    rows::custom("status", kAnyLevel, parse_statuses, dump_statuses),
};

void parse_health_check(const Directive& /*row*/, void* t, const toml::node& node,
                        ConfigContext& ctx) {
  const toml::table* h = node.as_table();
  if (!h) {
    ctx.error(node, "\"health_check\" must be a table, e.g. { path = \"/health\" }");
    return;
  }
  check_keys(*h, "in health_check", kHealthCheckRows, ctx);
  HealthCheckConfig hc;
  parse_rows(kHealthCheckRows, &hc, *h, ctx, "in health_check");
  field<&UpstreamConfig::health_check>(t) = std::move(hc);
}

void dump_health_check(const Directive& row, const void* t, DumpOut& out) {
  const auto& hc = field<&UpstreamConfig::health_check>(t);
  if (!hc) return;
  DumpOut table;
  dump_rows(kHealthCheckRows, &*hc, table);
  out.raw(row.name, table.inline_table());
}

// --- servers = [ { ... } ] ------------------------------------------------------------------

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

// Sets address_text only for a usable address: a server without it is dropped.
void parse_server_address(const Directive& row, void* t, const toml::node& node,
                          ConfigContext& ctx) {
  auto text = ctx.read_string(node, row.name);
  if (!text) return;
  std::string reason;
  auto addr = parse_listen_address(*text, &reason);
  // A listen-style bare port or wildcard host parses, but there is nothing to connect to.
  if (addr && (text->find(':') == std::string::npos || is_wildcard(*addr))) {
    addr.reset();
    reason = "expected the backend's host:port";
  }
  if (addr) {
    field<&UpstreamServerConfig::address_text>(t) = *text;
    field<&UpstreamServerConfig::address>(t) = *addr;
  } else {
    ctx.error(node, "invalid upstream server address \"" + *text + "\": " + reason);
  }
}

void dump_server_address(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&UpstreamServerConfig::address>(t).to_string());
}

constexpr Directive kUpstreamServerRows[] = {
    rows::custom("address", kAnyLevel, parse_server_address, dump_server_address).must(),
    rows::integer<&UpstreamServerConfig::weight>("weight", kAnyLevel, 1, 1000),
    rows::integer<&UpstreamServerConfig::max_fails>("max_fails", kAnyLevel, 0, kIntMax),
    rows::duration<&UpstreamServerConfig::fail_timeout>("fail_timeout", kAnyLevel),
    rows::flag<&UpstreamServerConfig::backup>("backup", kAnyLevel),
};

void parse_servers(const Directive& /*row*/, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& servers = field<&UpstreamConfig::servers>(t);
  const auto* array = node.as_array();
  if (array == nullptr) {
    ctx.error(node,
              "\"servers\" must be an array of tables, not " + std::string(a_type_name(node)));
    return;
  }
  if (array->empty()) {
    ctx.error(node, "\"servers\" must not be empty");
    return;
  }
  for (const toml::node& item : *array) {
    const auto* table = item.as_table();
    if (table == nullptr) {
      ctx.error(item,
                "each item of \"servers\" must be a table, not " + std::string(a_type_name(item)));
      continue;
    }
    check_keys(*table, "in an upstream server", kUpstreamServerRows, ctx);
    UpstreamServerConfig server;
    server.pos = ctx.pos(*table);
    parse_rows(kUpstreamServerRows, &server, *table, ctx, "in an upstream server");
    if (!server.address_text.empty()) servers.push_back(std::move(server));
  }
}

void dump_servers(const Directive& row, const void* t, DumpOut& out) {
  std::string text = "[\n";
  for (const UpstreamServerConfig& s : field<&UpstreamConfig::servers>(t)) {
    DumpOut item;
    dump_rows(kUpstreamServerRows, &s, item);
    text += "  " + item.inline_table() + ",\n";
  }
  out.raw(row.name, text + "]");
}

// --- [[upstream]] -----------------------------------------------------------------------------

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void parse_name(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto name = ctx.read_string(node, row.name);
  if (!name) return;
  if (!valid_name(*name))
    ctx.error(node, "invalid upstream name \"" + *name +
                        "\": use only letters, digits, \"_\", \".\" and \"-\"");
  field<&UpstreamConfig::name>(t) = *name;
}

void dump_name(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&UpstreamConfig::name>(t));
}

// Read after balance (rows are read in order).
void parse_hash_key(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto v = ctx.read_string(node, row.name);
  if (!v) return;
  if (field<&UpstreamConfig::balance>(t) != "hash") {
    // Silently ignoring it would hide that requests are not spread the way the user meant.
    ctx.error(node, "\"hash_key\" is only used with balance = \"hash\"");
  } else if (v->empty()) {
    ctx.error(node, "\"hash_key\" must not be empty");
  } else {
    field<&UpstreamConfig::hash_key>(t) = *v;
  }
}

void dump_hash_key(const Directive& row, const void* t, DumpOut& out) {
  if (field<&UpstreamConfig::balance>(t) == "hash")
    out.put(row.name, field<&UpstreamConfig::hash_key>(t));
}

constexpr std::array<std::string_view, 5> kBalance{"round_robin", "least_conn", "ip_hash", "hash",
                                                   "random"};

constexpr Directive kUpstreamRows[] = {
    rows::custom("name", kAnyLevel, parse_name, dump_name).must(),
    rows::choice<&UpstreamConfig::balance>("balance", kAnyLevel, kBalance),
    rows::custom("hash_key", kAnyLevel, parse_hash_key, dump_hash_key),
    rows::integer<&UpstreamConfig::keepalive>("keepalive", kAnyLevel, 0, kIntMax),
    rows::custom("health_check", kAnyLevel, parse_health_check, dump_health_check),
    rows::custom("servers", kAnyLevel, parse_servers, dump_servers).must(),
};

}  // namespace

DirectiveTable upstream_directives() {
  return kUpstreamRows;
}
DirectiveTable upstream_server_directives() {
  return kUpstreamServerRows;
}
DirectiveTable health_check_directives() {
  return kHealthCheckRows;
}

void load_upstreams(const toml::table& root, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  std::map<std::string, SourcePos, std::less<>> first_name_pos;
  for (const toml::table* t : tables_at(root, "upstream", ctx)) {
    check_keys(*t, "in [[upstream]]", kUpstreamRows, ctx);
    UpstreamConfig up;
    up.pos = ctx.pos(*t);
    parse_rows(kUpstreamRows, &up, *t, ctx, "in [[upstream]]");
    const toml::node* name = t->get("name");
    if (name != nullptr && name->is_string() && valid_name(up.name)) {
      if (auto it = first_name_pos.find(up.name); it != first_name_pos.end()) {
        ctx.error(*name, "duplicate upstream \"" + up.name + "\" (first defined at " +
                             position_text(it->second) + ")");
      } else {
        first_name_pos.emplace(up.name, ctx.pos(*name));
      }
    }
    if (up.balance == "hash" && up.hash_key.empty()) up.hash_key = "$request_uri";
    st.config.upstreams.push_back(std::move(up));
  }
}

}  // namespace serverd
