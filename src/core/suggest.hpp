#pragma once
// "Did you mean" hints for misspelt config keys and values.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace serverd {

// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters each cost 1 ("listn" -> "listen" = 1, "lsiten" -> "listen" = 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate when it is close enough to be a plausible typo: 1 edit for words of up
// to 5 characters, 2 for longer ones, or only a difference of case; nullopt otherwise (so
// "frobnicate" gets no hint). Ties go to the earlier candidate.
std::optional<std::string> suggest(std::string_view word,
                                   std::span<const std::string_view> candidates);

}  // namespace serverd
