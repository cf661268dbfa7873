#include "modules/headers/headers_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "core/directive_rows.hpp"
#include "http/exchange.hpp"
#include "http/header_list.hpp"
#include "http/variables.hpp"

namespace serverd {
namespace {

// Framing and connection management belong to the HTTP layer: a configured copy would
// contradict the real one and corrupt the response.
constexpr std::array<std::string_view, 7> kReserved = {
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"};

// Tab is allowed in a field value; every other control byte is not (RFC 9110 §5.5).
bool is_control(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

// Headers the handler or the HTTP layer already writes once: a configured one replaces it
// instead of sending the name twice.
bool replaces_builtin(std::string_view name) {
  return iequals(name, "content-type") || iequals(name, "server");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_charset(std::string_view c) {
  return !c.empty() && std::all_of(c.begin(), c.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || ch == '_' ||
           ch == '.' || ch == ':';
  });
}

// A MIME type as "type/subtype", both tokens.
bool valid_mime_type(std::string_view t) {
  const auto slash = t.find('/');
  return slash != std::string_view::npos && is_token(t.substr(0, slash)) &&
         is_token(t.substr(slash + 1));
}

bool is_reserved(std::string_view name) {
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

bool applies_by_default(int status) {
  switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
      return true;
    default:
      return false;
  }
}

std::optional<AddedHeader> read_header(std::string_view name, const toml::node& node,
                                       ConfigContext& ctx) {
  AddedHeader h;
  h.name = std::string(name);
  if (!is_token(name)) {
    ctx.error(node, fmt::format("`add_header`: \"{}\" is not a valid header name", name));
    return std::nullopt;
  }
  if (is_reserved(name)) {
    ctx.error(node, fmt::format("`add_header`: \"{}\" is set by serverd itself and cannot be "
                                "added",
                                name));
    return std::nullopt;
  }
  if (const auto* s = node.as_string()) {
    h.value = s->get();
  } else if (const toml::table* t = node.as_table()) {
    for (const auto& [key, value] : *t) {
      if (key.str() != "value" && key.str() != "always")
        ctx.error(value, fmt::format("unknown key `{}` in `add_header` \"{}\" (valid keys: "
                                     "value, always)",
                                     key.str(), name));
    }
    auto value = ctx.get_string(*t, "value");
    if (!value) {
      if (!t->contains("value"))
        ctx.error(node, fmt::format("`add_header` \"{}\" needs a `value`", name));
      return std::nullopt;
    }
    h.value = *value;
    if (auto always = ctx.get_bool(*t, "always")) h.always = *always;
  } else {
    ctx.error(node, fmt::format("`add_header` \"{}\" must be a string or a table {{ value, "
                                "always }}",
                                name));
    return std::nullopt;
  }
  if (std::any_of(h.value.begin(), h.value.end(), is_control)) {
    ctx.error(node, fmt::format("`add_header` \"{}\": the value has control characters", name));
    return std::nullopt;
  }
  h.compiled = compile_template(h.value);
  return h;
}

}  // namespace

void add_configured_headers(const HeadersConf& conf, const Request& request, Response& response) {
  const bool by_default = applies_by_default(response.status);
  const VariableContext vars{request};
  for (const AddedHeader& h : conf.headers) {
    if (!h.always && !by_default) continue;
    std::string value = evaluate(h.compiled, vars);
    // A variable may bring request bytes: CR or LF must never start a header of their own.
    std::replace_if(value.begin(), value.end(), is_control, ' ');
    if (replaces_builtin(h.name))
      response.headers.set(h.name, std::move(value));
    else
      response.headers.add(h.name, std::move(value));
  }
}

std::vector<std::string> HeadersConf::default_charset_types() {
  return {
      "text/html",          "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript",
      "application/rss+xml"};
}

void apply_charset(const HeadersConf& conf, Response& response) {
  if (conf.charset.empty()) return;
  const std::string* type = response.headers.find("content-type");
  if (type == nullptr) return;
  const std::string_view value = *type;
  const std::string mime = lower(trim(value.substr(0, value.find(';'))));
  if (std::find(conf.charset_types.begin(), conf.charset_types.end(), mime) ==
      conf.charset_types.end())
    return;
  if (lower(value).find("charset=") != std::string::npos) return;  // never a second one
  response.headers.set("Content-Type", std::string(trim(value)) + "; charset=" + conf.charset);
}

namespace {

void parse_add_header(const Directive& /*row*/, void* t, const toml::node& node,
                      ConfigContext& ctx) {
  auto& conf = static_cast<HeadersConf&>(*static_cast<ModuleConf*>(t));
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    ctx.error(node,
              "`add_header` must be a table of header = value, e.g. "
              "add_header = { \"X-Frame-Options\" = \"DENY\" }");
    return;
  }
  // A block's add_header replaces the enclosing block's list (charset inherits on its own).
  conf.headers.clear();
  conf.headers_set = true;
  for (const auto& [key, value] : *table)
    if (auto h = read_header(key.str(), value, ctx)) conf.headers.push_back(std::move(*h));
}

void dump_add_header(const Directive& row, const void* t, DumpOut& out) {
  const auto& conf = static_cast<const HeadersConf&>(*static_cast<const ModuleConf*>(t));
  toml::table table;
  for (const AddedHeader& h : conf.headers) {
    if (h.always) {
      toml::table v;
      v.insert_or_assign("value", h.value);
      v.insert_or_assign("always", true);
      v.is_inline(true);
      table.insert_or_assign(h.name, std::move(v));
    } else {
      table.insert_or_assign(h.name, h.value);
    }
  }
  table.is_inline(true);
  if (conf.headers_set || !conf.headers.empty()) out.put(row.name, std::move(table));
}

// `charset = "utf-8"` or "off".
void parse_charset(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& conf = static_cast<HeadersConf&>(*static_cast<ModuleConf*>(t));
  auto v = ctx.read_string(node, row.name);
  if (!v) return;
  if (*v != "off" && !valid_charset(*v)) {
    ctx.error(node, fmt::format("`charset`: \"{}\" is not a charset name (e.g. \"utf-8\", or "
                                "\"off\")",
                                *v));
    return;
  }
  conf.charset_set = true;
  conf.charset = *v == "off" ? std::string() : *v;
}

void dump_charset(const Directive& row, const void* t, DumpOut& out) {
  const auto& conf = static_cast<const HeadersConf&>(*static_cast<const ModuleConf*>(t));
  if (conf.charset_set || !conf.charset.empty())
    out.put(row.name, conf.charset.empty() ? std::string("off") : conf.charset);
}

void parse_charset_types(const Directive& row, void* t, const toml::node& node,
                         ConfigContext& ctx) {
  auto& conf = static_cast<HeadersConf&>(*static_cast<ModuleConf*>(t));
  auto types = ctx.read_string_list(node, row.name);
  if (!types) return;
  std::vector<std::string> out;
  for (const std::string& type : *types) {
    if (!valid_mime_type(type)) {
      ctx.error(node,
                fmt::format("`charset_types`: \"{}\" is not a MIME type (type/subtype)", type));
      return;
    }
    out.push_back(lower(type));
  }
  conf.charset_types = std::move(out);
  conf.charset_types_set = true;
}

void dump_charset_types(const Directive& row, const void* t, DumpOut& out) {
  const auto& conf = static_cast<const HeadersConf&>(*static_cast<const ModuleConf*>(t));
  if (!conf.charset_types_set) return;
  toml::array types;
  for (const auto& type : conf.charset_types) types.push_back(type);
  out.put(row.name, std::move(types));
}

constexpr Directive kRows[] = {
    rows::custom("add_header", ConfigLevel::server | ConfigLevel::location, parse_add_header,
                 dump_add_header),
    rows::custom("charset", ConfigLevel::server | ConfigLevel::location, parse_charset,
                 dump_charset),
    rows::custom("charset_types", ConfigLevel::server | ConfigLevel::location, parse_charset_types,
                 dump_charset_types),
};

}  // namespace

DirectiveTable HeadersModule::directives() const {
  return kRows;
}

std::shared_ptr<ModuleConf> HeadersModule::create(ConfigLevel /*level*/,
                                                  const ModuleConf* parent) const {
  // Inherited key by key: charset and charset_types as they are, add_header as a whole list
  // that a block's own add_header replaces (parse_add_header); an empty table is meaningful
  // (it stops the server's headers from applying here).
  return inherit_or_default<HeadersConf>(parent);
}

bool HeadersModule::finish(ConfigLevel /*level*/, ModuleConf& /*conf*/,
                           const toml::table& /*block*/, ConfigContext& /*ctx*/,
                           bool had_errors) const {
  return !had_errors;
}

void HeadersModule::filter_headers(Exchange& exchange, Response& response,
                                   const ModuleConf& mc) const {
  const auto& conf = static_cast<const HeadersConf&>(mc);
  add_configured_headers(conf, exchange.request(), response);
  apply_charset(conf, response);
}

}  // namespace serverd
