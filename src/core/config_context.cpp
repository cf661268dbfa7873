#include "core/config_context.hpp"

#include <limits>

#include "core/suggest.hpp"
#include "core/toml_types.hpp"

namespace serverd {
namespace {

std::string in_quotes(std::string_view s) {
  return '"' + std::string(s) + '"';
}

std::string must_be(std::string_view key, std::string_view what, const toml::node& node) {
  return in_quotes(key) + " must be " + std::string(what) + ", not " +
         std::string(a_type_name(node));
}

constexpr std::string_view kDurationExamples = R"((expected e.g. "500ms", "30s", "5m"))";
constexpr std::string_view kSizeExamples = R"((expected e.g. "512", "16KiB", "100MiB"))";

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

SourcePos ConfigContext::pos(const toml::source_region& region) const {
  return SourcePos{file_, static_cast<int>(region.begin.line),
                   static_cast<int>(region.begin.column)};
}

SourcePos ConfigContext::pos(const toml::node& node) const {
  return pos(node.source());
}

void ConfigContext::error(const toml::node& node, std::string message) {
  errors_.add(pos(node), std::move(message));
}

std::optional<std::string> ConfigContext::get_string(const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_string(*node, key);
}

std::optional<std::string> ConfigContext::read_string(const toml::node& value,
                                                      std::string_view key) {
  const toml::node* node = &value;
  if (const auto* s = node->as_string()) return s->get();
  error(*node, must_be(key, "a string", *node));
  return std::nullopt;
}

std::optional<std::int64_t> ConfigContext::get_integer(const toml::table& t, std::string_view key,
                                                       std::int64_t min, std::int64_t max) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_integer(*node, key, min, max);
}

std::optional<std::int64_t> ConfigContext::read_integer(const toml::node& value,
                                                        std::string_view key, std::int64_t min,
                                                        std::int64_t max) {
  const toml::node* node = &value;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    error(*node, must_be(key, "an integer", *node));
    return std::nullopt;
  }
  const std::int64_t v = i->get();
  if (v < min || v > max) {
    // Limits that only guard the C++ type (INT_MAX and up) are no news to the user.
    const std::string range = max >= std::numeric_limits<std::int32_t>::max()
                                  ? ">= " + std::to_string(min)
                                  : std::to_string(min) + ".." + std::to_string(max);
    error(*node, in_quotes(key) + " must be " + range + ", got " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> ConfigContext::get_bool(const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_bool(*node, key);
}

std::optional<bool> ConfigContext::read_bool(const toml::node& value, std::string_view key) {
  const toml::node* node = &value;
  if (const auto* b = node->as_boolean()) return b->get();
  error(*node, must_be(key, "a boolean", *node));
  return std::nullopt;
}

std::optional<Duration> ConfigContext::get_duration(const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_duration(*node, key);
}

std::optional<Duration> ConfigContext::read_duration(const toml::node& value,
                                                     std::string_view key) {
  const toml::node* node = &value;
  if (const auto* i = node->as_integer()) {
    const std::string n = std::to_string(i->get());
    error(*node, "invalid duration " + n + " for " + in_quotes(key) +
                     ": a unit is required (e.g. \"" + n + "s\" or \"" + n + "ms\")");
    return std::nullopt;
  }
  const auto* s = node->as_string();
  if (s == nullptr) {
    error(*node, must_be(key, "a duration like \"30s\"", *node));
    return std::nullopt;
  }
  if (auto d = parse_duration(s->get())) return d;
  if (all_digits(s->get())) {
    error(*node, "invalid duration " + in_quotes(s->get()) + " for " + in_quotes(key) +
                     ": a unit is required (e.g. \"" + s->get() + "s\" or \"" + s->get() + "ms\")");
  } else {
    error(*node, "invalid duration " + in_quotes(s->get()) + " for " + in_quotes(key) + " " +
                     std::string(kDurationExamples));
  }
  return std::nullopt;
}

std::optional<std::uint64_t> ConfigContext::get_size(const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_size(*node, key);
}

std::optional<std::uint64_t> ConfigContext::read_size(const toml::node& value,
                                                      std::string_view key) {
  const toml::node* node = &value;
  if (const auto* i = node->as_integer()) {
    if (i->get() >= 0) return static_cast<std::uint64_t>(i->get());
    error(*node, "invalid size " + std::to_string(i->get()) + " for " + in_quotes(key) + " " +
                     std::string(kSizeExamples));
    return std::nullopt;
  }
  const auto* s = node->as_string();
  if (s == nullptr) {
    error(*node, must_be(key, "a size like \"16KiB\"", *node));
    return std::nullopt;
  }
  if (auto size = parse_size(s->get())) return size;
  error(*node, "invalid size " + in_quotes(s->get()) + " for " + in_quotes(key) + " " +
                   std::string(kSizeExamples));
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigContext::get_string_list(const toml::table& t,
                                                                       std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_string_list(*node, key);
}

std::optional<std::vector<std::string>> ConfigContext::read_string_list(const toml::node& value,
                                                                        std::string_view key) {
  const toml::node* node = &value;
  if (const auto* s = node->as_string()) return std::vector<std::string>{s->get()};
  const auto* array = node->as_array();
  if (array == nullptr) {
    error(*node, must_be(key, "a string or an array of strings", *node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const toml::node& item : *array) {
    if (const auto* s = item.as_string()) {
      out.push_back(s->get());
    } else {
      error(item, "each item of " + in_quotes(key) + " must be a string, not " +
                      std::string(a_type_name(item)));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> ConfigContext::get_enum(
    const toml::table& t, std::string_view key, std::initializer_list<std::string_view> choices) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::nullopt;
  return read_enum(*node, key, std::span<const std::string_view>(choices.begin(), choices.size()));
}

std::optional<std::string> ConfigContext::read_enum(const toml::node& node, std::string_view key,
                                                    std::span<const std::string_view> choices) {
  auto value = read_string(node, key);
  if (!value) return std::nullopt;
  for (std::string_view c : choices)
    if (c == *value) return value;
  std::string expected;
  std::size_t i = 0;
  for (std::string_view c : choices) {
    if (i > 0) expected += i + 1 == choices.size() ? " or " : ", ";
    expected += c;
    ++i;
  }
  std::string message = "invalid value " + in_quotes(*value) + " for " + in_quotes(key) +
                        " (expected " + expected + ")";
  if (auto hint = suggest(*value, choices)) message += "; did you mean " + in_quotes(*hint) + "?";
  error(node, std::move(message));
  return std::nullopt;
}

std::filesystem::path ConfigContext::resolve_path(std::string_view path) const {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal();
  return (base_dir_ / p).lexically_normal();
}

}  // namespace serverd
