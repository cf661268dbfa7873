#pragma once
// The line-end rules llhttp's non-strict build does not enforce, for request and response
// heads alike: every line ends in CRLF (no bare LF) and no line starts with SP or HTAB
// (obs-fold). A proxy that let either through would hand the other side a head that another
// parser may split differently (request smuggling, response splitting; RFC 9112 §2.2, §5.2).
#include <cstring>
#include <string_view>

namespace serverd {

class LineEndCheck {
 public:
  // Checks the next bytes of a head (split however the reads fell); nullptr when they are
  // fine, else what is wrong.
  const char* feed(std::string_view bytes) {
    if (bytes.empty()) return nullptr;
    if (last_was_lf_ && (bytes.front() == ' ' || bytes.front() == '\t'))
      return "obsolete line folding";
    const char* const begin = bytes.data();
    const char* const end = begin + bytes.size();
    for (const char* p = begin; p < end;) {
      const auto* lf =
          static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (lf == nullptr) break;
      if (!(lf > begin ? lf[-1] == '\r' : last_was_cr_)) return "bare LF";
      if (lf + 1 < end && (lf[1] == ' ' || lf[1] == '\t')) return "obsolete line folding";
      p = lf + 1;
    }
    last_was_cr_ = end[-1] == '\r';
    last_was_lf_ = end[-1] == '\n';
    return nullptr;
  }
  void reset() { last_was_cr_ = last_was_lf_ = false; }

 private:
  bool last_was_cr_ = false;
  bool last_was_lf_ = false;
};

}  // namespace serverd
