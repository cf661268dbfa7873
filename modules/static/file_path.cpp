#include "modules/static/file_path.hpp"

#include <cerrno>

namespace serverd {
namespace {

// Checks every segment of `s` that starts at or after `from` (the segment containing `from`
// included) for "..", and the whole tail for NUL and backslash-dot-dot.
bool tail_is_safe(std::string_view s, std::size_t from) {
  const std::size_t slash = from == 0 ? std::string_view::npos : s.rfind('/', from - 1);
  std::string_view tail = slash == std::string_view::npos ? s : s.substr(slash);
  if (tail.find('\0') != std::string_view::npos) return false;
  if (tail.find("\\..") != std::string_view::npos || tail.find("..\\") != std::string_view::npos)
    return false;
  while (!tail.empty()) {
    if (tail.front() == '/') {
      tail.remove_prefix(1);
      continue;
    }
    const std::size_t end = tail.find('/');
    if (tail.substr(0, end) == "..") return false;
    if (end == std::string_view::npos) break;
    tail.remove_prefix(end);
  }
  return true;
}

void append_percent_encoded(std::string& out, unsigned char c) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xF]);
}

}  // namespace

bool is_safe_request_path(std::string_view path) {
  return path.starts_with('/') && tail_is_safe(path, 0);
}

MappedPath map_root_path(std::string_view root, std::string_view path) {
  if (!is_safe_request_path(path)) return {400, {}};
  std::string out;
  out.reserve(root.size() + path.size());
  out.append(root);
  out.append(path);
  return {0, std::move(out)};
}

MappedPath map_alias_path(std::string_view alias, std::string_view location_path,
                          std::string_view path) {
  if (!is_safe_request_path(path)) return {400, {}};
  if (!path.starts_with(location_path)) return {404, {}};
  std::string out;
  out.reserve(alias.size() + path.size());
  out.append(alias);
  out.append(path.substr(location_path.size()));
  if (!tail_is_safe(out, alias.size())) return {400, {}};
  return {0, std::move(out)};
}

int status_for_open_error(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return 404;
    case EACCES:
      return 403;
    default:
      return 500;
  }
}

std::string encode_uri_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("-._~!$&'()*+,;=:@/").find(ch) != std::string_view::npos;
    if (plain) {
      out.push_back(ch);
    } else {
      append_percent_encoded(out, c);
    }
  }
  return out;
}

std::string directory_redirect_location(std::string_view path, std::string_view query) {
  std::string out = encode_uri_path(path);
  out.push_back('/');
  if (!query.empty()) {
    out.push_back('?');
    // The query is passed on raw, as received; only bytes that cannot appear in a header
    // value or a URI are encoded.
    for (const char ch : query) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c >= 0x7f)
        append_percent_encoded(out, c);
      else
        out.push_back(ch);
    }
  }
  return out;
}

}  // namespace serverd
