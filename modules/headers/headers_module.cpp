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

constexpr ConfigKey kKeys[] = {
    {"add_header", ConfigLevel::server | ConfigLevel::location},
};

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
    response.headers.add(h.name, std::move(value));
  }
}

std::span<const ConfigKey> HeadersModule::keys() const {
  return kKeys;
}

ModuleConfPtr HeadersModule::configure(ConfigLevel /*level*/, const toml::table& block,
                                       const ModuleConfPtr& parent, ConfigContext& ctx) const {
  const toml::node* node = block.get("add_header");
  if (node == nullptr) return parent;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    ctx.error(*node, "`add_header` must be a table of header = value, e.g. "
                     "add_header = { \"X-Frame-Options\" = \"DENY\" }");
    return parent;
  }
  auto conf = std::make_shared<HeadersConf>();
  bool ok = true;
  for (const auto& [key, value] : *table) {
    if (auto h = read_header(key.str(), value, ctx)) {
      conf->headers.push_back(std::move(*h));
    } else {
      ok = false;
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
  out.insert_or_assign("add_header", std::move(t));
}

void HeadersModule::filter_headers(Exchange& exchange, Response& response,
                                   const ModuleConf& mc) const {
  add_configured_headers(static_cast<const HeadersConf&>(mc), exchange.request(), response);
}

}  // namespace serverd
