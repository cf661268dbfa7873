#pragma once
// The variable table behind http/variables.hpp: names to entries (at compile time only).
#include <optional>
#include <string>
#include <string_view>

#include "http/variables.hpp"

namespace serverd {

// The entry named `name` ("uri"; $http_<name> is not in the table), when it is known in this
// scope: the access log's own variables only with `in_log`.
std::optional<VarId> find_variable(std::string_view name, bool in_log);

// A header name as $http_<name> spells it, folded for find_folded_header ("X-Real-IP" and
// "x_real_ip" both give "x_real_ip").
std::string fold_header_name(std::string_view name);

}  // namespace serverd
