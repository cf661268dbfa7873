// [[server]] blocks: core's rows (config_core_rows.cpp), module settings, locations.
#include <algorithm>

#include "core/config_build.hpp"
#include "core/config_core_rows.hpp"

namespace serverd {
namespace {

std::string in_quotes(std::string_view s) {
  return '"' + std::string(s) + '"';
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
    const ConfigModule& m = st.modules[i];
    if (!m.is_content_handler()) continue;
    std::optional<Claim> first;
    for (const Directive& k : m.directives()) {
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
    const ConfigModule& m = st.modules[i];
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

void load_location(const toml::table& t, ServerConfig& server,
                   std::vector<SourcePos>& path_positions, LoadState& st) {
  ConfigContext& ctx = st.ctx;
  check_keys(t, "in [[server.location]]", st.keys.allowed(ConfigLevel::location), ctx, &st.keys);
  LocationConfig loc;
  loc.pos = ctx.pos(t);
  loc.client_max_body_size = server.limits.client_max_body_size;
  parse_rows(core_directives(ConfigLevel::location), &loc, t, ctx, "in [[server.location]]");
  // Only a location whose path and match kind were read is kept (and its path checked).
  const toml::node* path_node = t.get("path");
  const toml::node* match_node = t.get("match");
  bool match_ok = match_node == nullptr;
  if (const auto* m = match_node != nullptr ? match_node->as_string() : nullptr) {
    for (MatchKind kind : {MatchKind::prefix, MatchKind::priority_prefix, MatchKind::exact,
                           MatchKind::regex, MatchKind::regex_icase})
      match_ok = match_ok || match_name(kind) == m->get();
  }
  bool ok = path_node != nullptr && path_node->is_string() && match_ok;
  if (ok) ok = check_path(*path_node, loc, ctx);
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
  server.pos = ctx.pos(t);
  parse_rows(core_directives(ConfigLevel::server), &server, t, ctx, "in [[server]]");
  for (const ListenConfig& l : server.listen) {
    if (l.tls && !server.tls) {
      ctx.errors().add(l.pos, "listen " + in_quotes(l.text) +
                                  " has tls = true but this [[server]] has no certificate "
                                  "(add tls = { certificate = \"...\", key = \"...\" })");
    }
  }
  server.modules = configure_modules(ConfigLevel::server, t, st.config.modules, st);
  std::vector<SourcePos> path_positions;
  for (const toml::table* loc : tables_at(t, "location", ctx, "server.location"))
    load_location(*loc, server, path_positions, st);
  st.config.servers.push_back(std::move(server));
}

}  // namespace

void load_servers(const toml::table& root, LoadState& st) {
  for (const toml::table* t : tables_at(root, "server", st.ctx)) load_server(*t, st);
}

}  // namespace serverd
