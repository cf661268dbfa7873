#include "core/errors.hpp"

#include <algorithm>

namespace serverd {

std::string ConfigError::to_string() const {
  std::string out = pos.file;
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line) + ':' + std::to_string(pos.col);
  }
  if (!out.empty()) out += ": ";
  out += message;
  return out;
}

std::string ErrorList::to_string() const {
  std::vector<const ConfigError*> sorted;
  sorted.reserve(errors_.size());
  for (const auto& e : errors_) sorted.push_back(&e);
  // Stable, so errors found at one position keep the order they were found in.
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError* a, const ConfigError* b) {
    if (a->pos.file != b->pos.file) return a->pos.file < b->pos.file;
    if (a->pos.line != b->pos.line) return a->pos.line < b->pos.line;
    return a->pos.col < b->pos.col;
  });
  std::string out;
  for (const ConfigError* e : sorted) {
    if (!out.empty()) out += '\n';
    out += e->to_string();
  }
  return out;
}

}  // namespace serverd
