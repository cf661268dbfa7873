#include "core/directive.hpp"

#include <sstream>

namespace serverd {

void parse_rows(DirectiveTable rows, void* target, const toml::table& block, ConfigContext& ctx,
                std::string_view where) {
  for (const Directive& row : rows) {
    const toml::node* node = block.get(row.name);
    if (node == nullptr) {
      if (row.required)
        ctx.error(block,
                  "missing required key \"" + std::string(row.name) + "\" " + std::string(where));
      continue;
    }
    if (row.parse != nullptr) row.parse(row, target, *node, ctx);
  }
}

void reset_rows(DirectiveTable rows, void* target) {
  for (const Directive& row : rows)
    if (row.reset != nullptr) row.reset(target);
}

void dump_rows(DirectiveTable rows, const void* target, DumpOut& out) {
  for (const Directive& row : rows)
    if (row.dump != nullptr) row.dump(row, target, out);
}

const Directive* find_row(DirectiveTable rows, std::string_view name) {
  for (const Directive& row : rows)
    if (row.name == name) return &row;
  return nullptr;
}

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          const auto u = static_cast<unsigned char>(c);
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
  return out;
}

std::string toml_key(std::string_view key) {
  if (key.empty()) return toml_quote(key);
  for (char c : key) {
    const bool bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    if (!bare) return toml_quote(key);
  }
  return std::string(key);
}

std::string toml_inline(const toml::node& node) {
  if (const auto* s = node.as_string()) return toml_quote(s->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* a = node.as_array()) {
    std::string out = "[";
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (k > 0) out += ", ";
      out += toml_inline(*a->get(k));
    }
    return out + "]";
  }
  if (const auto* t = node.as_table()) {
    if (t->empty()) return "{}";
    std::string out = "{ ";
    bool first = true;
    for (auto&& [k, v] : *t) {
      if (!first) out += ", ";
      first = false;
      out += toml_key(k.str()) + " = " + toml_inline(v);
    }
    return out + " }";
  }
  // Floats, dates and times: toml++ writes these exactly.
  std::ostringstream os;
  os << toml::toml_formatter(node, toml::format_flags::none);
  return os.str();
}

std::string DumpOut::line(const Item& item) const {
  if (item.key.empty()) return item.text;
  const std::string value = item.value != kNone ? toml_inline(*values_.get(item.value)) : item.text;
  return toml_key(item.key) + " = " + value;
}

std::string DumpOut::inline_table() const {
  std::string out = "{ ";
  bool first = true;
  for (const Item& item : items_) {
    if (item.key.empty()) continue;
    if (!first) out += ", ";
    first = false;
    out += line(item);
  }
  return out + " }";
}

}  // namespace serverd
