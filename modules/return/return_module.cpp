#include "modules/return/return_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/directive_rows.hpp"
#include "http/exchange.hpp"
#include "http/variables.hpp"

namespace serverd {
namespace {

constexpr std::array<std::string_view, 4> kTableKeys = {"status", "location", "body",
                                                        "content_type"};

bool has_control_chars(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

// Variables can bring request bytes (a decoded $uri with a space, CR or LF) into the Location
// header: whatever cannot appear in a URI is percent-encoded, so no header can be injected.
std::string sanitize_location(std::string_view value) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::optional<ReturnConf> read_table(const toml::table& table, const toml::node& node,
                                     ConfigContext& ctx) {
  const std::size_t errors_before = ctx.errors().size();
  for (const auto& [key, value] : table) {
    if (std::find(kTableKeys.begin(), kTableKeys.end(), key.str()) == kTableKeys.end())
      ctx.error(value, fmt::format("unknown key `{}` in `return` (valid keys: status, location, "
                                   "body, content_type)",
                                   key.str()));
  }
  ReturnConf conf;
  if (!table.contains("status")) {
    ctx.error(node, "`return` needs a `status` (100..599)");
  } else if (auto status = ctx.get_integer(table, "status", 100, 599)) {
    conf.status = static_cast<int>(*status);
  }
  conf.location = ctx.get_string(table, "location");
  conf.body = ctx.get_string(table, "body");
  if (conf.location) conf.location_template = compile_template(*conf.location);
  if (conf.body) conf.body_template = compile_template(*conf.body);
  conf.content_type = ctx.get_string(table, "content_type");

  if (conf.location && (conf.location->empty() || has_control_chars(*conf.location)))
    ctx.error(*table.get("location"),
              "`location` must be a non-empty URL without control "
              "characters");
  if (conf.content_type && (conf.content_type->empty() || has_control_chars(*conf.content_type)))
    ctx.error(*table.get("content_type"), "`content_type` must be a non-empty media type");
  if (conf.content_type && !conf.body)
    ctx.error(*table.get("content_type"), "`content_type` is only used together with `body`");
  if (is_redirect_status(conf.status) && !conf.location)
    ctx.error(node, fmt::format("`return` with status {} needs a `location`", conf.status));
  if (ctx.errors().size() != errors_before) return std::nullopt;
  return conf;
}

}  // namespace

bool is_redirect_status(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Response make_return_response(const ReturnConf& conf, const Request& request) {
  const VariableContext vars{request};
  Response r;
  r.status = conf.status;
  if (conf.location)
    r.headers.add("Location", sanitize_location(evaluate(conf.location_template, vars)));
  if (conf.body) {
    r.headers.add("Content-Type", conf.content_type.value_or("text/plain"));
    r.body = evaluate(conf.body_template, vars);
  } else if (is_redirect_status(conf.status) || conf.status >= 400) {
    // As nginx: a redirect or an error without an explicit body gets the small HTML page.
    r.headers.add("Content-Type", "text/html");
    r.body = error_page_body(conf.status);
  }
  return r;
}

namespace {

// `return = 404` or `return = { status, location, body, content_type }`: the whole settings.
void parse_return(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& conf = static_cast<ReturnConf&>(*static_cast<ModuleConf*>(t));
  if (node.is_integer()) {
    const auto status = ctx.read_integer(node, row.name, 100, 599);
    if (!status) return;
    if (is_redirect_status(static_cast<int>(*status))) {
      ctx.error(node, fmt::format("`return = {0}` needs a location: write return = {{ status = "
                                  "{0}, location = \"...\" }}",
                                  *status));
      return;
    }
    conf.status = static_cast<int>(*status);
    return;
  }
  if (const toml::table* table = node.as_table()) {
    if (auto read = read_table(*table, node, ctx)) conf = std::move(*read);
    return;
  }
  ctx.error(node,
            "`return` must be a status code or a table { status, location, body, content_type }");
}

void dump_return(const Directive& row, const void* t, DumpOut& out) {
  const auto& conf = static_cast<const ReturnConf&>(*static_cast<const ModuleConf*>(t));
  if (!conf.location && !conf.body) {
    out.put(row.name, static_cast<std::int64_t>(conf.status));
    return;
  }
  toml::table table;
  table.insert_or_assign("status", conf.status);
  if (conf.location) table.insert_or_assign("location", *conf.location);
  if (conf.body) table.insert_or_assign("body", *conf.body);
  if (conf.content_type) table.insert_or_assign("content_type", *conf.content_type);
  // Inline, as it is written in a location block.
  table.is_inline(true);
  out.put(row.name, std::move(table));
}

constexpr Directive kRows[] = {
    rows::custom("return", ConfigLevel::server | ConfigLevel::location, parse_return, dump_return)
        .handler(),
};

}  // namespace

DirectiveTable ReturnModule::directives() const {
  return kRows;
}

std::span<const std::string_view> return_table_keys() {
  return kTableKeys;
}

std::shared_ptr<ModuleConf> ReturnModule::create(ConfigLevel /*level*/,
                                                 const ModuleConf* /*parent*/) const {
  // Never merged: a block's return replaces the enclosing one whole.
  return std::make_shared<ReturnConf>();
}

bool ReturnModule::finish(ConfigLevel /*level*/, ModuleConf& /*conf*/, const toml::table& /*block*/,
                          ConfigContext& /*ctx*/, bool had_errors) const {
  return !had_errors;
}

bool ReturnModule::handles(const ModuleConf& /*conf*/) const {
  return true;
}

void ReturnModule::handle(Exchange& exchange, const ModuleConf& mc) const {
  const auto& conf = static_cast<const ReturnConf&>(mc);
  exchange.respond(make_return_response(conf, exchange.request()));
}

}  // namespace serverd
