// [[server]] blocks: listen addresses, names, core HTTP limits, module settings, locations.
#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "core/config_build.hpp"
#include "core/toml_types.hpp"
#include "http/router.hpp"
#include "tls/tls_context.hpp"

namespace serverd {
namespace {

constexpr std::array<std::string_view, 5> kListenKeys{"address", "tls", "reuseport", "backlog",
                                                      "default_server"};

std::string in_quotes(std::string_view s) {
  return '"' + std::string(s) + '"';
}


std::optional<SocketAddress> parse_address(const toml::node& node, const std::string& text,
                                           ConfigContext& ctx) {
  std::string reason;
  auto address = parse_listen_address(text, &reason);
  if (!address) ctx.error(node, "invalid listen address " + in_quotes(text) + ": " + reason);
  return address;
}

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
  check_keys(*t, "in a listen table", kListenKeys, ctx);
  bool ok = false;
  if (!t->contains("address")) {
    ctx.error(*t, "missing required key \"address\" in a listen table");
  } else if (auto text = ctx.get_string(*t, "address")) {
    listen.text = *text;
    if (auto address = parse_address(*t->get("address"), *text, ctx)) {
      listen.address = *address;
      ok = true;
    }
  }
  if (auto v = ctx.get_bool(*t, "tls")) listen.tls = *v;
  if (auto v = ctx.get_bool(*t, "reuseport")) listen.reuseport = *v;
  if (auto v = ctx.get_integer(*t, "backlog", 1, 65535)) listen.backlog = static_cast<int>(*v);
  if (auto v = ctx.get_bool(*t, "default_server")) listen.default_server = *v;
  if (!ok) return std::nullopt;
  return listen;
}

void load_listen(const toml::table& t, ServerConfig& server, ConfigContext& ctx) {
  const toml::node* node = t.get("listen");
  if (node == nullptr) {
    ctx.error(t, "missing required key \"listen\" in [[server]]");
    return;
  }
  std::vector<const toml::node*> items;
  if (const auto* array = node->as_array()) {
    if (array->empty()) ctx.error(*node, "\"listen\" must not be empty");
    for (const toml::node& item : *array) items.push_back(&item);
  } else if (node->is_string() || node->is_table()) {
    items.push_back(node);
  } else {
    ctx.error(*node, "\"listen\" must be a string, a table or an array, not " +
                         std::string(a_type_name(*node)));
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

bool valid_wildcard(std::string_view name) {
  const auto star = name.find('*');
  if (star == std::string_view::npos) return true;
  if (name.find('*', star + 1) != std::string_view::npos) return false;
  // "*.rest" or "rest.*" with a non-empty rest, as nginx's leading and trailing wildcards.
  return name.size() > 2 && ((star == 0 && name[1] == '.') ||
                             (star == name.size() - 1 && name[star - 1] == '.'));
}

// "~regex" names: the error text when the regex does not compile, else empty.
std::string server_name_regex_error(std::string_view name) {
  try {
    compile_server_name_regex(name.substr(1));
    return {};
  } catch (const std::regex_error& e) {
    return std::string("invalid server_name regex ") + in_quotes(std::string(name)) + ": " +
           e.what();
  }
}

void load_server_names(const toml::table& t, ServerConfig& server, ServerNotes& notes,
                       ConfigContext& ctx) {
  const auto names = ctx.get_string_list(t, "server_name");
  if (!names) return;
  const toml::node& node = *t.get("server_name");
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
      notes.name_pos.push_back(ctx.pos(item));
      continue;
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!valid_wildcard(name)) {
      ctx.error(item, "invalid server_name " + in_quotes((*names)[i]) +
                          ": \"*\" is only allowed as a leading \"*.\", as in \"*.example.com\"");
      continue;
    }
    server.server_names.push_back(std::move(name));
    notes.name_pos.push_back(ctx.pos(item));
  }
}

constexpr std::array<std::string_view, 11> kTlsKeys{
    "certificate",   "key",           "protocols",          "ciphers",
    "ciphersuites",  "curves",        "ocsp_response",      "client_certificate",
    "verify_client", "verify_depth",  "handshake_timeout"};

// `tls = { certificate = ..., key = ..., ... }`: read, then turned into an SSL_CTX at once, so
// an unreadable or mismatched certificate is a config error like any other.
void load_tls(const toml::table& t, ServerConfig& server, ConfigContext& ctx) {
  const toml::table* table = table_at(t, "tls", ctx);
  if (table == nullptr) return;
  check_keys(*table, "in a tls table", kTlsKeys, ctx);
  TlsServerConfig tls;
  tls.pos = ctx.pos(*table);
  bool ok = true;
  for (auto [key, field] : {std::pair{"certificate", &tls.certificate}, std::pair{"key", &tls.key}}) {
    if (!table->contains(key)) {
      ctx.error(*table, std::string("missing required key \"") + key + "\" in a tls table");
      ok = false;
    } else if (auto v = ctx.get_string(*table, key)) {
      *field = ctx.resolve_path(*v);
    } else {
      ok = false;
    }
  }
  if (auto v = ctx.get_string_list(*table, "protocols")) {
    const toml::node& node = *table->get("protocols");
    const toml::array* array = node.as_array();
    tls.protocols.clear();
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!valid_tls_protocol((*v)[i])) {
        ctx.error(array != nullptr ? *array->get(i) : node,
                  "unknown TLS protocol " + in_quotes((*v)[i]) +
                      " (expected \"TLSv1.2\" or \"TLSv1.3\"; older ones are not offered)");
        ok = false;
      }
      tls.protocols.push_back((*v)[i]);
    }
    if (v->empty()) {
      ctx.error(node, "\"protocols\" must name at least one protocol");
      ok = false;
    }
  } else if (table->contains("protocols")) {
    ok = false;
  }
  if (auto v = ctx.get_string(*table, "ciphers")) tls.ciphers = *v;
  if (auto v = ctx.get_string(*table, "ciphersuites")) tls.ciphersuites = *v;
  if (auto v = ctx.get_string(*table, "curves")) tls.curves = *v;
  if (auto v = ctx.get_string(*table, "ocsp_response")) tls.ocsp_response = ctx.resolve_path(*v);
  if (auto v = ctx.get_string(*table, "client_certificate"))
    tls.client_certificate = ctx.resolve_path(*v);
  if (auto v = ctx.get_enum(*table, "verify_client", {"off", "on", "optional"})) {
    tls.verify_client = *v == "on"         ? TlsServerConfig::VerifyClient::on
                        : *v == "optional" ? TlsServerConfig::VerifyClient::optional
                                           : TlsServerConfig::VerifyClient::off;
  }
  if (auto v = ctx.get_integer(*table, "verify_depth", 1, 100)) tls.verify_depth = static_cast<int>(*v);
  if (auto v = ctx.get_duration(*table, "handshake_timeout")) tls.handshake_timeout = *v;
  if (ok) {
    // One session context for every server: a handshake is resumed before SNI has switched the
    // context, so per-server contexts would only make tickets fail after an SNI switch. Which
    // server may use a resumed session is checked per request (client certificates).
    TlsBuildError error;
    tls.context = TlsContext::build_server(tls, "serverd", &error);
    if (!tls.context) {
      const toml::node* at = table->get(error.key);
      ctx.error(at != nullptr ? *at : static_cast<const toml::node&>(*table), error.message);
    }
  }
  server.tls = std::move(tls);
}

void load_limits(const toml::table& t, HttpLimits& limits, ConfigContext& ctx) {
  if (auto v = ctx.get_size(t, "client_max_body_size")) limits.client_max_body_size = *v;
  // Zero would reject every request: these two have no "unlimited" meaning.
  for (auto [key, field] : {std::pair{"max_uri_length", &limits.max_uri_length},
                            std::pair{"max_header_size", &limits.max_header_size}}) {
    if (auto v = ctx.get_size(t, key)) {
      if (*v == 0) {
        ctx.error(*t.get(key), in_quotes(key) + " must be at least 1 byte");
      } else {
        *field = *v;
      }
    }
  }
  if (auto v = ctx.get_duration(t, "client_header_timeout")) limits.client_header_timeout = *v;
  if (auto v = ctx.get_duration(t, "client_body_timeout")) limits.client_body_timeout = *v;
  if (auto v = ctx.get_duration(t, "keepalive_timeout")) limits.keepalive_timeout = *v;
  if (auto v = ctx.get_duration(t, "send_timeout")) limits.send_timeout = *v;
  if (auto v =
          ctx.get_integer(t, "keepalive_requests", 1, std::numeric_limits<std::uint32_t>::max()))
    limits.keepalive_requests = static_cast<std::uint32_t>(*v);
}

// nginx's rule, typed: at most one content module may be configured explicitly in a location;
// otherwise the first content module whose (possibly inherited) settings claim it.
void choose_handler(const toml::table& t, LocationConfig& loc, LoadState& st) {
  struct Claim {
    SourcePos pos;
    std::string_view key;
    std::size_t module;
  };
  std::vector<Claim> claims;
  for (std::size_t i = 0; i < st.modules.size(); ++i) {
    const Module& m = st.modules[i];
    if (!m.is_content_handler()) continue;
    std::optional<Claim> first;
    for (const ConfigKey& k : m.keys()) {
      if ((k.levels & static_cast<unsigned>(ConfigLevel::location)) == 0) continue;
      if (!k.selects_handler) continue;
      const auto it = t.find(k.name);
      if (it == t.end()) continue;
      const SourcePos pos = st.ctx.pos(it->first.source());
      if (!first || std::pair(pos.line, pos.col) < std::pair(first->pos.line, first->pos.col))
        first = Claim{pos, k.name, i};
    }
    if (first) claims.push_back(*first);
  }
  std::stable_sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return std::pair(a.pos.line, a.pos.col) < std::pair(b.pos.line, b.pos.col);
  });
  if (claims.size() >= 2) {
    st.ctx.errors().add(claims[1].pos,
                        "location " + in_quotes(loc.path) +
                            " has two content handlers: " + in_quotes(claims[0].key) + " (module " +
                            std::string(st.modules[claims[0].module].name()) + ") and " +
                            in_quotes(claims[1].key) + " (module " +
                            std::string(st.modules[claims[1].module].name()) + ")");
  }
  if (!claims.empty()) {
    loc.handler = static_cast<int>(claims[0].module);
    return;
  }
  for (std::size_t i = 0; i < st.modules.size(); ++i) {
    const Module& m = st.modules[i];
    if (m.is_content_handler() && loc.modules[i] != nullptr && m.handles(*loc.modules[i])) {
      loc.handler = static_cast<int>(i);
      return;
    }
  }
}

// Validates the path for its match kind; false (with an error recorded) when unusable.
bool check_path(const toml::node& path_node, LocationConfig& loc, ConfigContext& ctx) {
  if (loc.match == MatchKind::regex || loc.match == MatchKind::regex_icase) {
    auto flags = std::regex::ECMAScript;
    if (loc.match == MatchKind::regex_icase) flags |= std::regex::icase;
    try {
      loc.regex = std::make_shared<const std::regex>(loc.path, flags);
    } catch (const std::regex_error& e) {
      ctx.error(path_node, "invalid regex " + in_quotes(loc.path) + ": " + e.what());
      return false;
    }
    return true;
  }
  if (loc.path.empty() || loc.path.front() != '/') {
    ctx.error(path_node, "location path " + in_quotes(loc.path) +
                             " must start with \"/\" (match = " + in_quotes(match_name(loc.match)) +
                             ")");
    return false;
  }
  return true;
}

std::optional<MatchKind> load_match(const toml::table& t, ConfigContext& ctx) {
  const auto v =
      ctx.get_enum(t, "match", {"prefix", "priority_prefix", "exact", "regex", "regex_icase"});
  if (!v) return t.contains("match") ? std::nullopt : std::optional(MatchKind::prefix);
  for (MatchKind kind : {MatchKind::prefix, MatchKind::priority_prefix, MatchKind::exact,
                         MatchKind::regex, MatchKind::regex_icase})
    if (match_name(kind) == *v) return kind;
  return std::nullopt;
}

void load_location(const toml::table& t, ServerConfig& server,
                   std::vector<SourcePos>& path_positions, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  check_keys(t, "in [[server.location]]", st.keys.allowed(ConfigLevel::location), ctx, &st.keys);
  LocationConfig loc;
  loc.pos = ctx.pos(t);
  loc.client_max_body_size = server.limits.client_max_body_size;
  const auto match = load_match(t, ctx);
  const auto path = ctx.get_string(t, "path");
  if (!t.contains("path")) ctx.error(t, "missing required key \"path\" in [[server.location]]");
  bool ok = match && path;
  if (ok) {
    loc.match = *match;
    loc.path = *path;
    ok = check_path(*t.get("path"), loc, ctx);
  }
  if (auto v = ctx.get_size(t, "client_max_body_size")) loc.client_max_body_size = *v;
  loc.modules = configure_modules(ConfigLevel::location, t, server.modules, st);
  choose_handler(t, loc, st);
  if (!ok) return;
  const SourcePos path_pos = ctx.pos(*t.get("path"));
  for (std::size_t i = 0; i < server.locations.size(); ++i) {
    const LocationConfig& other = server.locations[i];
    if (other.match == loc.match && other.path == loc.path) {
      ctx.errors().add(path_pos, "duplicate location " + in_quotes(loc.path) + " (match = " +
                                     in_quotes(match_name(loc.match)) + ", first defined at " +
                                     position_text(path_positions[i]) + ")");
      return;
    }
  }
  server.locations.push_back(std::move(loc));
  path_positions.push_back(path_pos);
}

void load_server(const toml::table& t, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  check_keys(t, "in [[server]]", st.keys.allowed(ConfigLevel::server), ctx, &st.keys);
  ServerConfig server;
  ServerNotes notes;
  server.pos = ctx.pos(t);
  load_listen(t, server, ctx);
  load_server_names(t, server, notes, ctx);
  load_limits(t, server.limits, ctx);
  load_tls(t, server, ctx);
  for (const ListenConfig& l : server.listen) {
    if (l.tls && !server.tls) {
      ctx.errors().add(l.pos, "listen " + in_quotes(l.text) +
                                  " has tls = true but this [[server]] has no certificate "
                                  "(add tls = { certificate = \"...\", key = \"...\" })");
    }
  }
  server.modules = configure_modules(ConfigLevel::server, t, st.config.modules, st);
  std::vector<SourcePos> path_positions;
  for (const toml::table* loc : tables_at(t, "location", ctx))
    load_location(*loc, server, path_positions, st);
  st.config.servers.push_back(std::move(server));
  st.server_notes.push_back(std::move(notes));
}

}  // namespace

void load_servers(const toml::table& root, LoadState& st) {
  for (const toml::table* t : tables_at(root, "server", st.ctx)) load_server(*t, st);
}

// The `match` value as written in a config file (the loader reads it, -T writes it).
std::string_view match_name(MatchKind kind) {
  switch (kind) {
    case MatchKind::prefix:
      return "prefix";
    case MatchKind::priority_prefix:
      return "priority_prefix";
    case MatchKind::exact:
      return "exact";
    case MatchKind::regex:
      return "regex";
    case MatchKind::regex_icase:
      break;
  }
  return "regex_icase";
}

}  // namespace serverd
