#pragma once
// Names of TOML value types as they read in error messages ("must be an integer, not a string").
#include <toml++/toml.h>

#include <string_view>

namespace serverd {

inline std::string_view a_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

inline std::string_view a_type_name(const toml::node& node) {
  return a_type_name(node.type());
}

}  // namespace serverd
