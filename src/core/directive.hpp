#pragma once
// Typed directive tables (nginx's ngx_command_t, typed). A config key is one row: its name, the
// levels where it may appear, how its value is read (a kind with range, or a custom parser),
// the member it fills, whether it is inherited and how `serverd -T` writes it back. The loader
// checks, parses, inherits and dumps from the rows; core's own keys are rows too
// (core/config_core_rows.hpp), so a new key is one row plus one field.
#include <toml++/toml.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_context.hpp"

namespace serverd {

enum class ConfigLevel : unsigned { main = 1, server = 2, location = 4 };
inline constexpr unsigned operator|(ConfigLevel a, ConfigLevel b) {
  return static_cast<unsigned>(a) | static_cast<unsigned>(b);
}
inline constexpr unsigned operator|(unsigned a, ConfigLevel b) {
  return a | static_cast<unsigned>(b);
}
inline constexpr bool has_level(unsigned levels, ConfigLevel level) {
  return (levels & static_cast<unsigned>(level)) != 0;
}
// Rows of nested tables (listen items, tls = {...}, upstreams) have no block level.
inline constexpr unsigned kAnyLevel = 7;

// Base of every module's settings; modules downcast their own.
struct ModuleConf {
  virtual ~ModuleConf() = default;
};

// What `serverd -T` writes for one block: key = value lines in row order, and comments.
class DumpOut {
 public:
  // A TOML value, written inline (tables as { ... }).
  template <class T>
  void put(std::string_view key, T&& value) {
    values_.push_back(std::forward<T>(value));
    items_.push_back({std::string(key), values_.size() - 1, {}});
  }
  // A value already written as TOML text (may span lines, as `listen = [` ... `]`).
  void raw(std::string_view key, std::string text) {
    items_.push_back({std::string(key), kNone, std::move(text)});
  }
  // A comment line ("# user: not set ...").
  void note(std::string text) { items_.push_back({{}, kNone, std::move(text)}); }

  struct Item {
    std::string key;    // empty: a comment
    std::size_t value;  // index into values(), or kNone
    std::string text;   // raw value or comment text
  };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  const std::vector<Item>& items() const { return items_; }
  const toml::array& values() const { return values_; }
  // "key = value" of an item (or its comment), one line unless a raw value spans several.
  std::string line(const Item& item) const;
  // All values as "{ k = v, k = v }" (comments skipped).
  std::string inline_table() const;

 private:
  std::vector<Item> items_;
  toml::array values_;
};

struct Directive;
// Reads the present value `node` into `target` (the settings object of the row's table),
// recording errors through ctx.
using DirectiveParse = void (*)(const Directive& row, void* target, const toml::node& node,
                                ConfigContext& ctx);
using DirectiveDump = void (*)(const Directive& row, const void* target, DumpOut& out);
using DirectiveReset = void (*)(void* target);

enum class ValueKind {
  boolean,
  integer,
  duration,
  size,
  string,
  choice,
  path,
  string_list,
  table,   // a nested table or array the loader reads itself (parse is null)
  custom,  // own parser and writer
};

struct Directive {
  std::string_view name;
  unsigned levels = kAnyLevel;  // ConfigLevel bits where the key may appear
  ValueKind kind = ValueKind::custom;
  DirectiveParse parse = nullptr;
  DirectiveDump dump = nullptr;
  // Set for a key that is not inherited: the member is reset before each block is read
  // (proxy_pass belongs to its location only).
  DirectiveReset reset = nullptr;
  // integer: the allowed range. size, duration (ms): the allowed range, `limit_error` when
  // outside it.
  std::int64_t min = 0;
  std::int64_t max = INT64_MAX;
  std::string_view limit_error;
  std::span<const std::string_view> choices;  // choice: the accepted strings, in enum order
  std::string_view unset_note;  // dump of an unset value: "# name: note" instead of nothing
  // Writing this key in a location makes its module that location's content handler (root,
  // alias, return, proxy_pass); other keys only tune a module (index, default_type).
  bool selects_handler = false;
  bool required = false;  // "missing required key" when the block lacks it

  constexpr Directive handler() const {
    Directive d = *this;
    d.selects_handler = true;
    return d;
  }
  constexpr Directive must() const {
    Directive d = *this;
    d.required = true;
    return d;
  }
  constexpr Directive note(std::string_view text) const {
    Directive d = *this;
    d.unset_note = text;
    return d;
  }
  constexpr Directive limits(std::int64_t lo, std::int64_t hi, std::string_view error) const {
    Directive d = *this;
    d.min = lo;
    d.max = hi;
    d.limit_error = error;
    return d;
  }
};

using DirectiveTable = std::span<const Directive>;

// Reads every row present in `block` into `target`; a missing required row is an error at the
// block: `missing required key "NAME" WHERE` (where: "in [[server]]", "in a listen table").
void parse_rows(DirectiveTable rows, void* target, const toml::table& block, ConfigContext& ctx,
                std::string_view where);
// Resets the members of rows that are not inherited.
void reset_rows(DirectiveTable rows, void* target);
void dump_rows(DirectiveTable rows, const void* target, DumpOut& out);
const Directive* find_row(DirectiveTable rows, std::string_view name);

// TOML text of a string (quoted, escaped) and of any value, on one line.
std::string toml_quote(std::string_view s);
std::string toml_key(std::string_view key);
std::string toml_inline(const toml::node& node);

}  // namespace serverd
