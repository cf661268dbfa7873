#pragma once
// What the fuzz targets share: a broken invariant is a crash for libFuzzer, with the reason
// (and what it was about) on stderr, so the input is kept as an artifact like any crash.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace serverd::fuzz {

inline void require(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace serverd::fuzz
