#pragma once
// Row makers for directive tables: each produces the parser and the writer of one key from a
// member pointer (or a chain of them: `&ServerConfig::limits, &HttpLimits::send_timeout`), so
// a table states only what differs between keys.
//
//   constexpr Directive kRows[] = {
//       duration<&ProxyConf::read_timeout>("proxy_read_timeout", kServerOrLocation),
//       integer<&ProxyConf::next_upstream_tries>("proxy_next_upstream_tries", ..., 0, 100),
//   };
//
// A row's target is the settings object of its table; for a module that is its ModuleConf
// (passed as ModuleConf*), for core rows the MainConfig, ServerConfig, ... being built.
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/directive.hpp"
#include "core/units.hpp"

namespace serverd::rows {
namespace detail {

template <class M>
struct member_traits;
template <class C, class T>
struct member_traits<T C::*> {
  using owner = C;
  using type = T;
};

template <auto M, auto... Rest>
constexpr auto& walk(auto& obj) {
  if constexpr (sizeof...(Rest) == 0) {
    return obj.*M;
  } else {
    return walk<Rest...>(obj.*M);
  }
}

template <auto First, auto...>
struct first_owner {
  using type = typename member_traits<decltype(First)>::owner;
};

template <class Owner>
Owner& target_as(void* target) {
  if constexpr (std::is_base_of_v<ModuleConf, Owner>) {
    return static_cast<Owner&>(*static_cast<ModuleConf*>(target));
  } else {
    return *static_cast<Owner*>(target);
  }
}
template <class Owner>
const Owner& target_as(const void* target) {
  if constexpr (std::is_base_of_v<ModuleConf, Owner>) {
    return static_cast<const Owner&>(*static_cast<const ModuleConf*>(target));
  } else {
    return *static_cast<const Owner*>(target);
  }
}

template <auto... P>
auto& field(void* target) {
  return walk<P...>(target_as<typename first_owner<P...>::type>(target));
}
template <auto... P>
const auto& field(const void* target) {
  return walk<P...>(target_as<typename first_owner<P...>::type>(target));
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

constexpr Directive row(std::string_view name, unsigned levels, ValueKind kind) {
  Directive d;
  d.name = name;
  d.levels = levels;
  d.kind = kind;
  return d;
}

}  // namespace detail

// The member a row fills, for custom parsers: rows::field<&X::y>(target).
using detail::field;

template <auto... P>
constexpr Directive flag(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::boolean);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_bool(node, row.name)) field<P...>(t) = *v;
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    out.put(row.name, static_cast<bool>(field<P...>(t)));
  };
  return d;
}

// int, uint32, int64, or optional<uint64> (unset: nothing written, or the row's note).
template <auto... P>
constexpr Directive integer(std::string_view name, unsigned levels, std::int64_t min,
                            std::int64_t max) {
  Directive d = detail::row(name, levels, ValueKind::integer);
  d.min = min;
  d.max = max;
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_integer(node, row.name, row.min, row.max)) {
      auto& f = field<P...>(t);
      using F = std::remove_reference_t<decltype(f)>;
      if constexpr (detail::is_optional<F>::value) {
        f = static_cast<typename F::value_type>(*v);
      } else {
        f = static_cast<F>(*v);
      }
    }
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const auto& f = field<P...>(t);
    using F = std::remove_cvref_t<decltype(f)>;
    if constexpr (detail::is_optional<F>::value) {
      if (f) {
        out.put(row.name, static_cast<std::int64_t>(*f));
      } else if (!row.unset_note.empty()) {
        out.note("# " + std::string(row.name) + ": " + std::string(row.unset_note));
      }
    } else {
      out.put(row.name, static_cast<std::int64_t>(f));
    }
  };
  return d;
}

// A Duration member; with limits(), values outside [min, max] ms are `limit_error`.
template <auto... P>
constexpr Directive duration(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::duration);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_duration(node, row.name)) {
      if (v->count() < row.min || v->count() > row.max) {
        ctx.error(node, std::string(row.limit_error));
      } else {
        field<P...>(t) = *v;
      }
    }
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    out.put(row.name, format_duration(field<P...>(t)));
  };
  return d;
}

// A uint64 or optional<uint64> byte count; with limits(), values outside are `limit_error`.
template <auto... P>
constexpr Directive size(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::size);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_size(node, row.name)) {
      if (*v < static_cast<std::uint64_t>(row.min) || *v > static_cast<std::uint64_t>(row.max)) {
        ctx.error(node, std::string(row.limit_error));
      } else {
        field<P...>(t) = *v;
      }
    }
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const auto& f = field<P...>(t);
    using F = std::remove_cvref_t<decltype(f)>;
    if constexpr (detail::is_optional<F>::value) {
      if (f) out.put(row.name, format_size(*f));
    } else {
      out.put(row.name, format_size(f));
    }
  };
  return d;
}

// A string member; an empty one is not written (or written as the row's note).
template <auto... P>
constexpr Directive string(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::string);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_string(node, row.name)) field<P...>(t) = std::move(*v);
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const std::string& v = field<P...>(t);
    if (!v.empty()) {
      out.put(row.name, v);
    } else if (!row.unset_note.empty()) {
      out.note("# " + std::string(row.name) + ": " + std::string(row.unset_note));
    }
  };
  return d;
}

// One of `choices`, into a string member or an enum whose values follow the choices' order.
template <auto... P>
constexpr Directive choice(std::string_view name, unsigned levels,
                           std::span<const std::string_view> choices) {
  Directive d = detail::row(name, levels, ValueKind::choice);
  d.choices = choices;
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    auto v = ctx.read_enum(node, row.name, row.choices);
    if (!v) return;
    auto& f = field<P...>(t);
    using F = std::remove_reference_t<decltype(f)>;
    if constexpr (std::is_enum_v<F>) {
      for (std::size_t i = 0; i < row.choices.size(); ++i)
        if (row.choices[i] == *v) f = static_cast<F>(i);
    } else {
      f = std::move(*v);
    }
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const auto& f = field<P...>(t);
    using F = std::remove_cvref_t<decltype(f)>;
    if constexpr (std::is_enum_v<F>) {
      out.put(row.name, std::string(row.choices[static_cast<std::size_t>(f)]));
    } else {
      out.put(row.name, f);
    }
  };
  return d;
}

// A filesystem::path member, relative paths resolved against the config's directory; an empty
// one (not set) is not written.
template <auto... P>
constexpr Directive path(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::path);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_string(node, row.name)) field<P...>(t) = ctx.resolve_path(*v);
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const std::filesystem::path& p = field<P...>(t);
    if (!p.empty()) out.put(row.name, p.string());
  };
  return d;
}

// A vector<string> member from a string or an array of strings; an empty one is not written.
template <auto... P>
constexpr Directive strings(std::string_view name, unsigned levels) {
  Directive d = detail::row(name, levels, ValueKind::string_list);
  d.parse = [](const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
    if (auto v = ctx.read_string_list(node, row.name)) field<P...>(t) = std::move(*v);
  };
  d.dump = [](const Directive& row, const void* t, DumpOut& out) {
    const std::vector<std::string>& v = field<P...>(t);
    if (v.empty()) return;
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    out.put(row.name, std::move(a));
  };
  return d;
}

// A key with its own parser and writer (either may be null).
constexpr Directive custom(std::string_view name, unsigned levels, DirectiveParse parse,
                           DirectiveDump dump) {
  Directive d = detail::row(name, levels, ValueKind::custom);
  d.parse = parse;
  d.dump = dump;
  return d;
}

// A nested table or array of tables the loader reads and writes itself ([[server.location]],
// [log.rotate]).
constexpr Directive table(std::string_view name, unsigned levels) {
  return detail::row(name, levels, ValueKind::table);
}

// `row`, not inherited: the member is reset to its default before each block is read.
template <auto... P>
constexpr Directive fresh(Directive row) {
  row.reset = [](void* t) {
    auto& f = field<P...>(t);
    f = std::remove_reference_t<decltype(f)>{};
  };
  return row;
}

}  // namespace serverd::rows
