// Core's directive tables: [main], [log], [log.rotate], [[server]] (with listen items and
// tls = { ... }) and [[server.location]].
#include "core/config_core_rows.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <regex>

#include "core/config.hpp"
#include "core/config_build.hpp"
#include "core/directive_rows.hpp"
#include "core/log.hpp"
#include "core/toml_types.hpp"

namespace serverd {
namespace {

using rows::field;

constexpr unsigned kMain = static_cast<unsigned>(ConfigLevel::main);
constexpr unsigned kServer = static_cast<unsigned>(ConfigLevel::server);
constexpr unsigned kLocation = static_cast<unsigned>(ConfigLevel::location);
constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::string in_quotes(std::string_view s) {
  return '"' + std::string(s) + '"';
}

// --- [main] ---------------------------------------------------------------------------------

void parse_worker_processes(const Directive& row, void* t, const toml::node& node,
                            ConfigContext& ctx) {
  int& out = field<&MainConfig::worker_processes>(t);
  if (const auto* s = node.as_string()) {
    if (s->get() == "auto") {
      out = 0;
    } else {
      ctx.error(node, "invalid value \"" + s->get() +
                          "\" for \"worker_processes\" (expected \"auto\" or 1..1024)");
    }
  } else if (node.is_integer()) {
    if (auto n = ctx.read_integer(node, row.name, 1, 1024)) out = static_cast<int>(*n);
  } else {
    ctx.error(node, "\"worker_processes\" must be \"auto\" or an integer, not " +
                        std::string(a_type_name(node)));
  }
}

void dump_worker_processes(const Directive& row, const void* t, DumpOut& out) {
  const int n = field<&MainConfig::worker_processes>(t);
  if (n == 0) {
    out.put(row.name, std::string("auto"));
  } else {
    out.put(row.name, static_cast<std::int64_t>(n));
  }
}

constexpr std::array<std::string_view, 2> kAffinityChoices{"auto", "off"};

void parse_cpu_affinity(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  bool& out = field<&MainConfig::worker_cpu_affinity>(t);
  if (node.is_boolean()) {
    out = *node.value<bool>();
  } else if (!node.is_string()) {
    ctx.error(node, "\"worker_cpu_affinity\" must be \"auto\", \"off\" or a boolean, not " +
                        std::string(a_type_name(node)));
  } else if (auto v = ctx.read_enum(node, row.name, kAffinityChoices)) {
    out = *v == "auto";
  }
}

void parse_pid_file(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto v = ctx.read_string(node, row.name);
  if (!v) return;
  if (v->empty()) {
    ctx.error(node, "\"pid_file\" must not be empty");
  } else {
    field<&MainConfig::pid_file>(t) = ctx.resolve_path(*v);
  }
}

void dump_pid_file(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&MainConfig::pid_file>(t).string());
}

constexpr Directive kMainRows[] = {
    rows::custom("worker_processes", kMain, parse_worker_processes, dump_worker_processes),
    rows::integer<&MainConfig::worker_connections>("worker_connections", kMain, 1, 1'048'576),
    rows::integer<&MainConfig::worker_rlimit_nofile>("worker_rlimit_nofile", kMain, 1, kInt64Max)
        .note("not set (the inherited limit applies)"),
    rows::custom("worker_cpu_affinity", kMain, parse_cpu_affinity,
                 rows::flag<&MainConfig::worker_cpu_affinity>("", 0).dump),
    rows::string<&MainConfig::user>("user", kMain).note("not set (no user switch)"),
    rows::custom("pid_file", kMain, parse_pid_file, dump_pid_file),
    rows::flag<&MainConfig::daemon>("daemon", kMain),
    rows::duration<&MainConfig::shutdown_timeout>("shutdown_timeout", kMain),
    rows::duration<&MainConfig::upgrade_timeout>("upgrade_timeout", kMain),
    rows::integer<&MainConfig::max_draining_generations>("max_draining_generations", kMain, 1, 64),
    rows::duration<&MainConfig::tls_ticket_key_rotation>("tls_ticket_key_rotation", kMain)
        .limits(1000, kInt64Max, "\"tls_ticket_key_rotation\" must be at least 1s"),
};

// --- [log], [log.rotate] --------------------------------------------------------------------

void parse_error_log(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto v = ctx.read_string(node, row.name);
  if (!v) return;
  if (v->empty()) {
    ctx.error(node, "\"error_log\" must be \"stderr\" or a path, not empty");
  } else {
    if (v->starts_with("syslog:")) {
      // A target, not a path: checked here, kept as written.
      if (auto error = syslog_target_error(*v); !error.empty())
        ctx.error(node, "invalid error_log \"" + *v + "\": " + error);
      field<&LogConfig::error_log>(t) = *v;
      return;
    }
    field<&LogConfig::error_log>(t) = *v == "stderr" ? *v : ctx.resolve_path(*v).string();
  }
}

constexpr std::array<std::string_view, 6> kLevels{"trace", "debug", "info",
                                                  "warn",  "error", "critical"};
constexpr std::array<std::string_view, 3> kIntervals{"never", "hourly", "daily"};

constexpr Directive kLogRows[] = {
    rows::custom("error_log", kAnyLevel, parse_error_log,
                 rows::string<&LogConfig::error_log>("", 0).dump),
    rows::choice<&LogConfig::level>("level", kAnyLevel, kLevels),
    rows::table("rotate", kAnyLevel),
};

constexpr Directive kRotateRows[] = {
    rows::size<&LogRotateConfig::max_size>("max_size", kAnyLevel),
    rows::choice<&LogRotateConfig::interval>("interval", kAnyLevel, kIntervals),
    rows::integer<&LogRotateConfig::keep>("keep", kAnyLevel, 0, kIntMax),
    rows::flag<&LogRotateConfig::compress>("compress", kAnyLevel),
};

// --- listen items ---------------------------------------------------------------------------

std::optional<SocketAddress> parse_address(const toml::node& node, const std::string& text,
                                           ConfigContext& ctx) {
  std::string reason;
  auto address = parse_listen_address(text, &reason);
  if (!address) ctx.error(node, "invalid listen address " + in_quotes(text) + ": " + reason);
  return address;
}

// Sets text and address only when the address is valid: an item without them is dropped.
void parse_listen_address_row(const Directive& row, void* t, const toml::node& node,
                              ConfigContext& ctx) {
  auto text = ctx.read_string(node, row.name);
  if (!text) return;
  if (auto address = parse_address(node, *text, ctx)) {
    field<&ListenConfig::text>(t) = *text;
    field<&ListenConfig::address>(t) = *address;
  }
}

void dump_socket_address(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&ListenConfig::address>(t).to_string());
}

constexpr Directive kListenRows[] = {
    rows::custom("address", kAnyLevel, parse_listen_address_row, dump_socket_address).must(),
    rows::flag<&ListenConfig::tls>("tls", kAnyLevel),
    rows::flag<&ListenConfig::reuseport>("reuseport", kAnyLevel),
    rows::integer<&ListenConfig::backlog>("backlog", kAnyLevel, 1, 65535),
    rows::flag<&ListenConfig::default_server>("default_server", kAnyLevel),
};

// A listen item is "host:port" or { address = "host:port", tls = ..., ... }.
std::optional<ListenConfig> load_listen_item(const toml::node& item, ConfigContext& ctx) {
  ListenConfig listen;
  listen.pos = ctx.pos(item);
  if (const auto* s = item.as_string()) {
    listen.text = s->get();
    auto address = parse_address(item, listen.text, ctx);
    if (!address) return std::nullopt;
    listen.address = *address;
    return listen;
  }
  const auto* t = item.as_table();
  if (t == nullptr) {
    ctx.error(item, "each item of \"listen\" must be a string or a table, not " +
                        std::string(a_type_name(item)));
    return std::nullopt;
  }
  check_keys(*t, "in a listen table", kListenRows, ctx);
  parse_rows(kListenRows, &listen, *t, ctx, "in a listen table");
  if (listen.text.empty()) return std::nullopt;
  return listen;
}

void parse_listen(const Directive& /*row*/, void* t, const toml::node& node, ConfigContext& ctx) {
  ServerConfig& server = *static_cast<ServerConfig*>(t);
  std::vector<const toml::node*> items;
  if (const auto* array = node.as_array()) {
    if (array->empty()) ctx.error(node, "\"listen\" must not be empty");
    for (const toml::node& item : *array) items.push_back(&item);
  } else if (node.is_string() || node.is_table()) {
    items.push_back(&node);
  } else {
    ctx.error(node, "\"listen\" must be a string, a table or an array, not " +
                        std::string(a_type_name(node)));
    return;
  }
  for (const toml::node* item : items) {
    auto listen = load_listen_item(*item, ctx);
    if (!listen) continue;
    auto same = std::find_if(server.listen.begin(), server.listen.end(),
                             [&](const ListenConfig& l) { return l.address == listen->address; });
    if (same != server.listen.end()) {
      ctx.error(*item, "duplicate listen address " + listen->address.to_string() +
                           " in this [[server]] (first defined at " + position_text(same->pos) +
                           ")");
      continue;
    }
    server.listen.push_back(std::move(*listen));
  }
}

void dump_listen(const Directive& /*row*/, const void* t, DumpOut& out) {
  std::string text = "[\n";
  for (const ListenConfig& l : static_cast<const ServerConfig*>(t)->listen) {
    DumpOut item;
    dump_rows(kListenRows, &l, item);
    text += "  " + item.inline_table() + ",\n";
  }
  out.raw("listen", text + "]");
}

// --- server_name ----------------------------------------------------------------------------

bool valid_wildcard(std::string_view name) {
  const auto star = name.find('*');
  if (star == std::string_view::npos) return true;
  if (name.find('*', star + 1) != std::string_view::npos) return false;
  // "*.rest" or "rest.*" with a non-empty rest, as nginx's leading and trailing wildcards.
  return name.size() > 2 &&
         ((star == 0 && name[1] == '.') || (star == name.size() - 1 && name[star - 1] == '.'));
}

// "~regex" names: the error text when the regex does not compile (with the flags the router
// uses: ECMAScript, icase), else empty.
std::string server_name_regex_error(std::string_view name) {
  try {
    std::regex(std::string(name.substr(1)), std::regex::ECMAScript | std::regex::icase);
    return {};
  } catch (const std::regex_error& e) {
    return "invalid server_name regex " + in_quotes(name) + ": " + e.what();
  }
}

void parse_server_names(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  ServerConfig& server = *static_cast<ServerConfig*>(t);
  const auto names = ctx.read_string_list(node, row.name);
  if (!names) return;
  const toml::array* array = node.as_array();
  for (std::size_t i = 0; i < names->size(); ++i) {
    const toml::node& item = array != nullptr ? *array->get(i) : node;
    std::string name = (*names)[i];
    if (name.starts_with("~")) {  // a regex keeps its case ("\\D" is not "\\d")
      if (auto error = server_name_regex_error(name); !error.empty()) {
        ctx.error(item, error);
        continue;
      }
      server.server_names.push_back(std::move(name));
      server.server_name_pos.push_back(ctx.pos(item));
      continue;
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!valid_wildcard(name)) {
      ctx.error(item, "invalid server_name " + in_quotes((*names)[i]) +
                          ": \"*\" is only allowed as a leading \"*.\" or a trailing \".*\", as in "
                          "\"*.example.com\" or \"www.example.*\"");
      continue;
    }
    server.server_names.push_back(std::move(name));
    server.server_name_pos.push_back(ctx.pos(item));
  }
}

void dump_server_names(const Directive& row, const void* t, DumpOut& out) {
  toml::array names;
  for (const auto& n : static_cast<const ServerConfig*>(t)->server_names) names.push_back(n);
  out.put(row.name, std::move(names));
}

// --- tls = { ... } --------------------------------------------------------------------------

void parse_protocols(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto v = ctx.read_string_list(node, row.name);
  if (!v) return;
  auto& protocols = field<&TlsServerConfig::protocols>(t);
  const toml::array* array = node.as_array();
  protocols.clear();
  for (std::size_t i = 0; i < v->size(); ++i) {
    if ((*v)[i] != "TLSv1.2" && (*v)[i] != "TLSv1.3") {
      ctx.error(array != nullptr ? *array->get(i) : node,
                "unknown TLS protocol " + in_quotes((*v)[i]) +
                    " (expected \"TLSv1.2\" or \"TLSv1.3\"; older ones are not offered)");
    }
    protocols.push_back((*v)[i]);
  }
  if (v->empty()) ctx.error(node, "\"protocols\" must name at least one protocol");
}

void dump_protocols(const Directive& row, const void* t, DumpOut& out) {
  toml::array a;
  for (const auto& p : field<&TlsServerConfig::protocols>(t)) a.push_back(p);
  out.put(row.name, std::move(a));
}

// Empty means OpenSSL gets serverd's default list; -T writes that list.
template <auto Member, const std::string_view& Default>
void dump_with_default(const Directive& row, const void* t, DumpOut& out) {
  const std::string& v = field<Member>(t);
  out.put(row.name, v.empty() ? std::string(Default) : v);
}

constexpr std::array<std::string_view, 3> kVerifyClient{"off", "on", "optional"};

constexpr Directive kTlsRows[] = {
    rows::path<&TlsServerConfig::certificate>("certificate", kAnyLevel).must(),
    rows::path<&TlsServerConfig::key>("key", kAnyLevel).must(),
    rows::custom("protocols", kAnyLevel, parse_protocols, dump_protocols),
    rows::custom("ciphers", kAnyLevel, rows::string<&TlsServerConfig::ciphers>("", 0).parse,
                 dump_with_default<&TlsServerConfig::ciphers, kDefaultTlsCiphers>),
    rows::custom("ciphersuites", kAnyLevel,
                 rows::string<&TlsServerConfig::ciphersuites>("", 0).parse,
                 dump_with_default<&TlsServerConfig::ciphersuites, kDefaultTlsCiphersuites>),
    rows::custom("curves", kAnyLevel, rows::string<&TlsServerConfig::curves>("", 0).parse,
                 dump_with_default<&TlsServerConfig::curves, kDefaultTlsCurves>),
    rows::path<&TlsServerConfig::ocsp_response>("ocsp_response", kAnyLevel),
    rows::path<&TlsServerConfig::client_certificate>("client_certificate", kAnyLevel),
    rows::choice<&TlsServerConfig::verify_client>("verify_client", kAnyLevel, kVerifyClient),
    rows::integer<&TlsServerConfig::verify_depth>("verify_depth", kAnyLevel, 1, 100),
    rows::duration<&TlsServerConfig::handshake_timeout>("handshake_timeout", kAnyLevel),
};

// Only read here: the certificates become an SSL_CTX after loading (tls/tls_context.hpp), with
// errors at the positions kept in key_pos.
void parse_tls(const Directive& /*row*/, void* t, const toml::node& node, ConfigContext& ctx) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    ctx.error(node, "\"tls\" must be a table, not " + std::string(a_type_name(node)));
    return;
  }
  check_keys(*table, "in a tls table", kTlsRows, ctx);
  TlsServerConfig tls;
  tls.pos = ctx.pos(*table);
  parse_rows(kTlsRows, &tls, *table, ctx, "in a tls table");
  for (auto&& [key, value] : *table)
    tls.key_pos.emplace_back(std::string(key.str()), ctx.pos(value));
  static_cast<ServerConfig*>(t)->tls = std::move(tls);
}

void dump_tls(const Directive& row, const void* t, DumpOut& out) {
  const auto& tls = static_cast<const ServerConfig*>(t)->tls;
  if (!tls) return;
  DumpOut table;
  dump_rows(kTlsRows, &*tls, table);
  out.raw(row.name, table.inline_table());
}

// --- [[server]], [[server.location]] -----------------------------------------------------------

constexpr Directive kServerRows[] = {
    rows::custom("listen", kServer, parse_listen, dump_listen).must(),
    rows::custom("server_name", kServer, parse_server_names, dump_server_names),
    rows::size<&ServerConfig::limits, &HttpLimits::client_max_body_size>("client_max_body_size",
                                                                         kServer),
    rows::size<&ServerConfig::limits, &HttpLimits::max_uri_length>("max_uri_length", kServer)
        .limits(1, kInt64Max, "\"max_uri_length\" must be at least 1 byte"),
    rows::size<&ServerConfig::limits, &HttpLimits::max_header_size>("max_header_size", kServer)
        .limits(1, kInt64Max, "\"max_header_size\" must be at least 1 byte"),
    rows::duration<&ServerConfig::limits, &HttpLimits::client_header_timeout>(
        "client_header_timeout", kServer),
    rows::duration<&ServerConfig::limits, &HttpLimits::client_body_timeout>("client_body_timeout",
                                                                            kServer),
    rows::duration<&ServerConfig::limits, &HttpLimits::keepalive_timeout>("keepalive_timeout",
                                                                          kServer),
    rows::duration<&ServerConfig::limits, &HttpLimits::send_timeout>("send_timeout", kServer),
    rows::integer<&ServerConfig::limits, &HttpLimits::keepalive_requests>(
        "keepalive_requests", kServer, 1, std::numeric_limits<std::uint32_t>::max()),
    rows::custom("tls", kServer, parse_tls, dump_tls),
    rows::table("location", kServer),
};

void parse_path(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  if (auto v = ctx.read_string(node, row.name)) field<&LocationConfig::path>(t) = *v;
}

void dump_path(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, field<&LocationConfig::path>(t));
}

constexpr std::array<std::string_view, 5> kMatchKinds{"prefix", "priority_prefix", "exact", "regex",
                                                      "regex_icase"};

constexpr Directive kLocationRows[] = {
    rows::custom("path", kLocation, parse_path, dump_path).must(),
    rows::choice<&LocationConfig::match>("match", kLocation, kMatchKinds),
    rows::size<&LocationConfig::client_max_body_size>("client_max_body_size", kLocation),
};

}  // namespace

DirectiveTable core_directives(ConfigLevel level) {
  switch (level) {
    case ConfigLevel::main:
      return kMainRows;
    case ConfigLevel::server:
      return kServerRows;
    case ConfigLevel::location:
      break;
  }
  return kLocationRows;
}

DirectiveTable log_directives() {
  return kLogRows;
}
DirectiveTable log_rotate_directives() {
  return kRotateRows;
}
DirectiveTable listen_directives() {
  return kListenRows;
}
DirectiveTable tls_directives() {
  return kTlsRows;
}

std::span<const CoreTable> core_tables() {
  static const CoreTable kTables[] = {
      {"[main]", kMainRows},
      {"[log]", kLogRows},
      {"[log.rotate]", kRotateRows},
      {"[[upstream]]", upstream_directives()},
      {"[[upstream]] servers", upstream_server_directives()},
      {"[[upstream]] health_check", health_check_directives()},
      {"[[server]]", kServerRows},
      {"[[server]] listen", kListenRows},
      {"[[server]] tls", kTlsRows},
      {"[[server.location]]", kLocationRows},
  };
  return kTables;
}

// The `match` value as written in a config file (the loader reads it, -T writes it).
std::string_view match_name(MatchKind kind) {
  return kMatchKinds[static_cast<std::size_t>(kind)];
}

}  // namespace serverd
