#include "modules/headers/headers_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "http/exchange.hpp"
#include "http/header_list.hpp"
#include "http/variables.hpp"

namespace serverd {
namespace {

bool is_token_char(char c);

constexpr ConfigKey kKeys[] = {
    {"add_header", ConfigLevel::server | ConfigLevel::location},
    {"charset", ConfigLevel::server | ConfigLevel::location},
    {"charset_types", ConfigLevel::server | ConfigLevel::location},
};

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

// A MIME type as "type/subtype" of token characters.
bool valid_mime_type(std::string_view t) {
  const auto slash = t.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '/' || is_token_char(c); }) &&
         t.find('/', slash + 1) == std::string_view::npos;
}

// Framing and connection management belong to the HTTP layer: a configured copy would
// contradict the real one and corrupt the response.
constexpr std::array<std::string_view, 7> kReserved = {
    "content-length", "transfer-encoding", "connection", "keep-alive",
    "upgrade",        "te",                "trailer"};

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Tab is allowed in a field value; every other control byte is not (RFC 9110 §5.5).
bool is_control(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

bool is_reserved(std::string_view name) {
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

bool applies_by_default(int status) {
  switch (status) {
    case 200: case 201: case 204: case 206: case 301: case 302: case 303: case 304: case 307:
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
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
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
  return h;
}

}  // namespace

void add_configured_headers(const HeadersConf& conf, const Request& request,
                            std::string_view scheme, Response& response) {
  const bool by_default = applies_by_default(response.status);
  for (const AddedHeader& h : conf.headers) {
    if (!h.always && !by_default) continue;
    std::string value = expand_variables(h.value, request, scheme);
    // A variable may bring request bytes: CR or LF must never start a header of their own.
    std::replace_if(value.begin(), value.end(), is_control, ' ');
    if (replaces_builtin(h.name))
      response.headers.set(h.name, std::move(value));
    else
      response.headers.add(h.name, std::move(value));
  }
}

std::vector<std::string> HeadersConf::default_charset_types() {
  return {"text/html",       "text/xml",    "text/plain", "text/vnd.wap.wml",
          "application/javascript", "application/rss+xml"};
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

std::span<const ConfigKey> HeadersModule::keys() const {
  return kKeys;
}

namespace {

// `charset = "utf-8"` or "off"; false after an error.
bool read_charset(const toml::table& block, HeadersConf& conf, ConfigContext& ctx) {
  const toml::node* node = block.get("charset");
  if (node == nullptr) return true;
  auto v = ctx.get_string(block, "charset");
  if (!v) return false;
  conf.charset_set = true;
  if (*v == "off") {
    conf.charset.clear();
  } else if (!valid_charset(*v)) {
    ctx.error(*node, fmt::format("`charset`: \"{}\" is not a charset name (e.g. \"utf-8\", or "
                                 "\"off\")",
                                 *v));
    return false;
  } else {
    conf.charset = *v;
  }
  return true;
}

bool read_charset_types(const toml::table& block, HeadersConf& conf, ConfigContext& ctx) {
  const toml::node* node = block.get("charset_types");
  if (node == nullptr) return true;
  auto types = ctx.get_string_list(block, "charset_types");
  if (!types) return false;
  std::vector<std::string> out;
  for (const std::string& t : *types) {
    if (!valid_mime_type(t)) {
      ctx.error(*node, fmt::format("`charset_types`: \"{}\" is not a MIME type (type/subtype)",
                                   t));
      return false;
    }
    out.push_back(lower(t));
  }
  conf.charset_types = std::move(out);
  conf.charset_types_set = true;
  return true;
}

}  // namespace

ModuleConfPtr HeadersModule::configure(ConfigLevel /*level*/, const toml::table& block,
                                       const ModuleConfPtr& parent, ConfigContext& ctx) const {
  const toml::node* node = block.get("add_header");
  if (node == nullptr && !block.contains("charset") && !block.contains("charset_types"))
    return parent;
  // charset and charset_types inherit key by key; add_header as a whole list.
  auto conf = parent ? std::make_shared<HeadersConf>(static_cast<const HeadersConf&>(*parent))
                     : std::make_shared<HeadersConf>();
  bool ok = read_charset(block, *conf, ctx) && read_charset_types(block, *conf, ctx);
  if (node != nullptr) {
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      ctx.error(*node, "`add_header` must be a table of header = value, e.g. "
                       "add_header = { \"X-Frame-Options\" = \"DENY\" }");
      return parent;
    }
    conf->headers.clear();
    conf->headers_set = true;
    for (const auto& [key, value] : *table) {
      if (auto h = read_header(key.str(), value, ctx)) {
        conf->headers.push_back(std::move(*h));
      } else {
        ok = false;
      }
    }
  }
  // An empty table is meaningful: it stops the server's headers from applying here.
  return ok ? conf : parent;
}

void HeadersModule::dump(const ModuleConf& mc, toml::table& out) const {
  const auto& conf = static_cast<const HeadersConf&>(mc);
  toml::table t;
  for (const AddedHeader& h : conf.headers) {
    if (h.always) {
      toml::table v;
      v.insert_or_assign("value", h.value);
      v.insert_or_assign("always", true);
      v.is_inline(true);
      t.insert_or_assign(h.name, std::move(v));
    } else {
      t.insert_or_assign(h.name, h.value);
    }
  }
  t.is_inline(true);
  if (conf.headers_set || !conf.headers.empty()) out.insert_or_assign("add_header", std::move(t));
  if (conf.charset_set || !conf.charset.empty())
    out.insert_or_assign("charset", conf.charset.empty() ? std::string("off") : conf.charset);
  if (conf.charset_types_set) {
    toml::array types;
    for (const auto& type : conf.charset_types) types.push_back(type);
    out.insert_or_assign("charset_types", std::move(types));
  }
}

void HeadersModule::filter_headers(Exchange& exchange, Response& response,
                                   const ModuleConf& mc) const {
  const auto& conf = static_cast<const HeadersConf&>(mc);
  add_configured_headers(conf, exchange.request(), exchange.scheme(), response);
  apply_charset(conf, response);
}

}  // namespace serverd
