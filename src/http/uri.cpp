#include "http/uri.hpp"

#include <cctype>

namespace serverd {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}
}  // namespace

bool split_target(std::string_view target, SplitTarget& out) {
  out = {};
  if (target.empty()) return false;
  if (target[0] != '/') {
    std::size_t scheme_len = 0;
    if (starts_with_icase(target, "http://"))
      scheme_len = 7;
    else if (starts_with_icase(target, "https://"))
      scheme_len = 8;
    else
      return false;
    std::string_view rest = target.substr(scheme_len);
    std::size_t slash = rest.find_first_of("/?");
    out.host = rest.substr(0, slash);
    if (out.host.empty()) return false;
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (target[0] == '?') {
      out.path = "/";
      out.query = target.substr(1);
      return true;
    }
  }
  std::size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string_view::npos) out.query = target.substr(q + 1);
  return true;
}

bool normalize_path(std::string_view raw, std::string& out) {
  out.clear();
  if (raw.empty() || raw[0] != '/') return false;
  // Decode first: "%2e%2e" must be resolved like "..", and "%2F" splits segments as nginx does.
  std::string& decoded = out;
  decoded.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    decoded.push_back(c);
  }
  // Resolve segments in place: `w` is the write position; the output never grows.
  std::size_t w = 0, r = 0;
  const std::size_t n = decoded.size();
  while (r < n) {
    // here decoded[r] == '/'
    std::size_t next = decoded.find('/', r + 1);
    if (next == std::string::npos) next = n;
    std::string_view seg(decoded.data() + r + 1, next - r - 1);
    bool last = next == n;
    if (seg.empty()) {
      if (last) decoded[w++] = '/';  // trailing slash
    } else if (seg == ".") {
      if (last) decoded[w++] = '/';
    } else if (seg == "..") {
      if (w == 0) return false;  // above the root
      while (w > 0 && decoded[w - 1] != '/') --w;
      if (w > 0) --w;  // drop the '/' before the removed segment
      if (last) decoded[w++] = '/';
    } else {
      decoded[w++] = '/';
      for (char ch : seg) decoded[w++] = ch;
    }
    r = next;
  }
  decoded.resize(w);
  if (decoded.empty()) decoded = "/";
  return true;
}

bool parse_host(std::string_view value, std::string& host) {
  host.clear();
  if (value.empty()) return false;
  std::string_view h = value;
  if (h[0] == '[') {
    std::size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return false;
    h = h.substr(0, close + 1);
    for (char c : h.substr(1, h.size() - 2))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    host.assign(h);
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else {
    std::size_t colon = h.rfind(':');
    if (colon != std::string_view::npos) {
      for (char c : h.substr(colon + 1))
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      h = h.substr(0, colon);
    }
    if (h.empty()) return false;
    // Empty labels ("a..b", "..", ".x") are not host names.
    if (h.front() == '.' || h.find("..") != std::string_view::npos) return false;
    for (char c : h) {
      auto uc = static_cast<unsigned char>(c);
      // RFC 3986 reg-name characters, minus '%' escapes which no real client sends in Host.
      if (!(std::isalnum(uc) || c == '-' || c == '.' || c == '_' || c == '~')) return false;
    }
    host.assign(h);
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // "example.com." is the same name as "example.com".
    if (host.size() > 1 && host.back() == '.') host.pop_back();
  }
  return true;
}

}  // namespace serverd
