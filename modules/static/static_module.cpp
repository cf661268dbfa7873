#include "modules/static/static_module.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/directive_rows.hpp"
#include "http/exchange.hpp"
#include "http/http_date.hpp"
#include "modules/static/conditional.hpp"
#include "modules/static/etag.hpp"
#include "modules/static/file_path.hpp"
#include "modules/static/mime_types.hpp"
#include "modules/static/range.hpp"

namespace serverd {
namespace {

// O_NONBLOCK: opening a FIFO someone left under the root must not block the worker.
constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;

bool has_control_chars(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

// A configured directory: non-empty, resolved against the config dir, lexically normalised.
std::optional<std::string> read_directory(const toml::node& node, std::string_view key,
                                          ConfigContext& ctx) {
  auto text = ctx.read_string(node, key);
  if (!text) return std::nullopt;
  if (text->empty() || text->find('\0') != std::string::npos) {
    ctx.error(node, fmt::format("`{}` must be a non-empty path", key));
    return std::nullopt;
  }
  return ctx.resolve_path(*text).lexically_normal().string();
}

// open() failed with `err`. A 500 (descriptors exhausted, an I/O error) tells the client nothing,
// so the operator gets the reason; control bytes in the path (a decoded %0A) are escaped so a
// request cannot forge a log line.
void respond_open_error(Exchange& exchange, std::string_view path, int err) {
  const int status = status_for_open_error(err);
  if (status == 500) {
    std::string shown;
    for (const char c : path) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f || c == '"' || c == '\\')
        shown += fmt::format("\\x{:02x}", u);
      else
        shown += c;
    }
    spdlog::error("open() \"{}\" failed: {} (request \"{} {}\"); answering 500", shown,
                  std::strerror(err), exchange.request().method(), exchange.request().target());
  }
  exchange.respond_error(status);
}

bool valid_index_name(std::string_view name) {
  if (name.empty() || name.starts_with('/') || has_control_chars(name)) return false;
  return is_safe_request_path(std::string("/").append(name));
}

// --- request handling -------------------------------------------------------------------------

void respond_method_not_allowed(Exchange& exchange) {
  Response r = make_error_response(405);
  r.headers.add("Allow", "GET, HEAD");
  exchange.respond(std::move(r));
}

void respond_directory_redirect(Exchange& exchange) {
  const Request& req = exchange.request();
  Response r = make_error_response(301);
  r.headers.add("Location", directory_redirect_location(req.path(), req.query()));
  exchange.respond(std::move(r));
}

ConditionalHeaders conditional_headers(const Request& req) {
  return {req.header("If-Match"), req.header("If-Unmodified-Since"), req.header("If-None-Match"),
          req.header("If-Modified-Since")};
}

// Sends a regular file already opened and fstat'ed. `name` gives the extension.
void send_file(Exchange& exchange, const StaticConf& conf, UniqueFd fd, const struct stat& st,
               std::string_view name) {
  const Request& req = exchange.request();
  const std::time_t mtime = st.st_mtim.tv_sec;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string etag = make_etag(mtime, size);
  std::string last_modified = format_http_date(mtime);

  switch (evaluate_preconditions(conditional_headers(req), req.is_get_or_head(), etag, mtime)) {
    case Precondition::failed:
      exchange.respond_error(412);
      return;
    case Precondition::not_modified: {
      Response r;
      r.status = 304;
      r.headers.add("Last-Modified", std::move(last_modified));
      r.headers.add("ETag", std::move(etag));
      exchange.respond(std::move(r));
      return;
    }
    case Precondition::proceed:
      break;
  }

  Response r;
  std::uint64_t offset = 0;
  std::uint64_t length = size;
  // Range is defined for GET only (RFC 9110 §14.2); If-Range turns a stale range into a 200.
  const auto range = req.method() == "GET" ? req.header("Range") : std::nullopt;
  const auto if_range = range ? req.header("If-Range") : std::nullopt;
  if (range && (!if_range || if_range_matches(*if_range, etag, mtime))) {
    const ByteRange br = parse_range(*range, size);
    if (br.kind == ByteRange::Kind::unsatisfiable) {
      Response e = make_error_response(416);
      e.headers.add("Content-Range", fmt::format("bytes */{}", size));
      exchange.respond(std::move(e));
      return;
    }
    if (br.kind == ByteRange::Kind::satisfiable) {
      r.status = 206;
      offset = br.first;
      length = br.length();
    }
  }

  const auto type = mime_type_for_path(name);
  r.headers.add("Content-Type", std::string(type ? *type : std::string_view(conf.default_type)));
  r.headers.add("Last-Modified", std::move(last_modified));
  r.headers.add("ETag", std::move(etag));
  r.headers.add("Accept-Ranges", "bytes");
  if (r.status == 206)
    r.headers.add("Content-Range",
                  fmt::format("bytes {}-{}/{}", offset, offset + length - 1, size));
  // An empty file needs no descriptor: the core then sends an empty body.
  if (length > 0) {
    r.file = std::move(fd);
    r.file_offset = offset;
    r.file_length = length;
  }
  exchange.respond(std::move(r));
}

}  // namespace

namespace {

// root and alias replace each other (one of them, or an inherited one, is in effect).
void parse_root(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& conf = static_cast<StaticConf&>(*static_cast<ModuleConf*>(t));
  if (auto root = read_directory(node, row.name, ctx)) {
    // Kept without a trailing '/': the request path supplies it.
    while (!root->empty() && root->back() == '/') root->pop_back();
    conf.root = std::move(*root);
    conf.alias.reset();
  }
}

void dump_root(const Directive& row, const void* t, DumpOut& out) {
  const auto& root = rows::field<&StaticConf::root>(t);
  if (root) out.put(row.name, root->empty() ? std::string("/") : *root);
}

void parse_alias(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& conf = static_cast<StaticConf&>(*static_cast<ModuleConf*>(t));
  if (auto alias = read_directory(node, row.name, ctx)) {
    conf.alias = std::move(*alias);
    conf.alias_pos = ctx.pos(node);
    conf.root.reset();
  }
}

void dump_alias(const Directive& row, const void* t, DumpOut& out) {
  const auto& alias = rows::field<&StaticConf::alias>(t);
  if (alias) out.put(row.name, *alias);
}

void parse_index(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto index = ctx.read_string_list(node, row.name);
  if (!index) return;
  bool ok = true;
  for (const auto& name : *index) {
    if (!valid_index_name(name)) {
      ctx.error(node, fmt::format("invalid index file name \"{}\": must be a relative file name "
                                  "without \"..\" segments",
                                  name));
      ok = false;
    }
  }
  if (ok) rows::field<&StaticConf::index>(t) = std::move(*index);
}

// Written back only where it is allowed (settings created in [main] carry it as a default).
void dump_index(const Directive& row, const void* t, DumpOut& out) {
  if (rows::field<&StaticConf::level>(t) == ConfigLevel::main) return;
  toml::array index;
  for (const auto& name : rows::field<&StaticConf::index>(t)) index.push_back(name);
  out.put(row.name, std::move(index));
}

void parse_default_type(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto type = ctx.read_string(node, row.name);
  if (!type) return;
  if (type->empty() || has_control_chars(*type))
    ctx.error(node, "`default_type` must be a non-empty media type");
  else
    rows::field<&StaticConf::default_type>(t) = std::move(*type);
}

void dump_default_type(const Directive& row, const void* t, DumpOut& out) {
  out.put(row.name, rows::field<&StaticConf::default_type>(t));
}

constexpr Directive kRows[] = {
    rows::custom("root", ConfigLevel::server | ConfigLevel::location, parse_root, dump_root)
        .handler(),
    rows::custom("alias", static_cast<unsigned>(ConfigLevel::location), parse_alias, dump_alias)
        .handler(),
    rows::custom("index", ConfigLevel::server | ConfigLevel::location, parse_index, dump_index),
    rows::custom("default_type", ConfigLevel::main | ConfigLevel::server | ConfigLevel::location,
                 parse_default_type, dump_default_type),
};

}  // namespace

DirectiveTable StaticModule::directives() const {
  return kRows;
}

std::shared_ptr<ModuleConf> StaticModule::create(ConfigLevel level,
                                                 const ModuleConf* parent) const {
  auto conf = inherit_or_default<StaticConf>(parent);
  conf->level = level;
  return conf;
}

bool StaticModule::finish(ConfigLevel /*level*/, ModuleConf& /*conf*/, const toml::table& block,
                          ConfigContext& ctx, bool /*had_errors*/) const {
  if (block.contains("root") && block.contains("alias"))
    ctx.error(*block.get("alias"),
              "`root` and `alias` cannot both be set in one location: alias replaces the "
              "location's prefix, root appends the whole path");
  return true;
}

void StaticModule::validate(const Config& config, ConfigContext& ctx) const {
  // Checked here rather than in configure(): only the loader knows how a location's match kind
  // was written, and by now it is in LocationConfig::match.
  for (const auto& server : config.servers) {
    for (const auto& location : server.locations) {
      if (location.match != MatchKind::regex && location.match != MatchKind::regex_icase) continue;
      for (const auto& mc : location.modules) {
        const auto* conf = dynamic_cast<const StaticConf*>(mc.get());
        if (conf && conf->alias && conf->level == ConfigLevel::location)
          ctx.errors().add(conf->alias_pos,
                           "`alias` cannot be used in a regex location: there is no prefix to "
                           "replace (use `root`)");
      }
    }
  }
}

bool StaticModule::handles(const ModuleConf& mc) const {
  const auto& conf = static_cast<const StaticConf&>(mc);
  return conf.root.has_value() || conf.alias.has_value();
}

void StaticModule::handle(Exchange& exchange, const ModuleConf& mc) const {
  const auto& conf = static_cast<const StaticConf&>(mc);
  const Request& req = exchange.request();
  if (!req.is_get_or_head()) {
    respond_method_not_allowed(exchange);
    return;
  }

  const MappedPath mapped = conf.alias
                                ? map_alias_path(*conf.alias, exchange.location().path, req.path())
                                : map_root_path(conf.root.value_or(""), req.path());
  if (mapped.status != 0) {
    exchange.respond_error(mapped.status);
    return;
  }

  // Everything below looks at the opened descriptor only (fstat, openat), never at the path
  // again, so a file swapped between checks cannot be served.
  UniqueFd fd(::open(mapped.path.c_str(), kOpenFlags));
  if (!fd) {
    respond_open_error(exchange, mapped.path, errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    exchange.respond_error(500);
    return;
  }

  if (S_ISDIR(st.st_mode)) {
    if (!req.path().ends_with('/')) {
      respond_directory_redirect(exchange);
      return;
    }
    for (const auto& name : conf.index) {
      UniqueFd index_fd(::openat(fd.get(), name.c_str(), kOpenFlags));
      if (!index_fd) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) continue;
        respond_open_error(exchange, (std::filesystem::path(mapped.path) / name).string(), err);
        return;
      }
      struct stat index_st {};
      if (::fstat(index_fd.get(), &index_st) != 0) {
        exchange.respond_error(500);
        return;
      }
      if (!S_ISREG(index_st.st_mode)) continue;
      send_file(exchange, conf, std::move(index_fd), index_st, name);
      return;
    }
    // No index file, and no autoindex: the directory exists but is not listed.
    exchange.respond_error(403);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    exchange.respond_error(404);  // device, socket, FIFO: as nginx, not a servable file
    return;
  }
  send_file(exchange, conf, std::move(fd), st, mapped.path);
}

}  // namespace serverd
