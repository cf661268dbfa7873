#pragma once
// The Range request header (RFC 9110 §14.2), single byte ranges only: a multi-range request is
// answered with the whole file, which RFC 9110 allows and which spares us multipart bodies.
#include <cstdint>
#include <string_view>

namespace serverd {

struct ByteRange {
  enum class Kind {
    ignore,         // no usable Range (garbage, other unit, several ranges): send 200
    satisfiable,    // send 206 with bytes [first, last]
    unsatisfiable,  // send 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::ignore;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive

  std::uint64_t length() const { return last - first + 1; }
};

// "bytes=a-b" (b clamped to size-1), "bytes=a-", "bytes=-n" (the last n bytes, all of them when
// n >= size). Unsatisfiable: a >= size, or "-0", or any range of an empty file. Numbers too big
// for 64 bits saturate, which gives the same answer as their exact value would.
ByteRange parse_range(std::string_view header, std::uint64_t size);

}  // namespace serverd
