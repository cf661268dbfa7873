#pragma once
// Hashes whose values are fixed by their definition, not by the standard library: consistent
// hashing must map a key to the same server in every worker, after a reload and after an
// upgrade to a binary built with another compiler, which std::hash does not promise.
#include <cstdint>
#include <string_view>

namespace serverd {

inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ULL;
inline constexpr std::uint64_t kFnv1aPrime = 1099511628211ULL;

// 64-bit FNV-1a; pass a previous result as `h` to hash a concatenation.
constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = kFnv1aOffset) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnv1aPrime;
  }
  return h;
}

// FNV-1a over the 8 little-endian bytes of `v`, continuing from `h`.
constexpr std::uint64_t fnv1a64_u64(std::uint64_t v, std::uint64_t h) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xffU;
    h *= kFnv1aPrime;
  }
  return h;
}

// MurmurHash3's 64-bit finaliser: FNV-1a alone leaves nearby inputs ("...-1", "...-2") with
// nearby high bits, which would cluster ring points; this spreads every input bit over all 64.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// The hash of a request key (balance = "hash") and of client addresses (ip_hash).
constexpr std::uint64_t stable_hash(std::string_view bytes) {
  return mix64(fnv1a64(bytes));
}

}  // namespace serverd
