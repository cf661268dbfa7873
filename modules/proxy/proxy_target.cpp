#include "modules/proxy/proxy_target.hpp"

#include "http/uri.hpp"

namespace serverd {

std::optional<ProxyTarget> parse_proxy_pass(std::string_view text, std::string* error) {
  ProxyTarget t;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    rest = text.substr(8);
    t.scheme = "https";
  } else {
    *error = "must start with \"http://\" or \"https://\"";
    return std::nullopt;
  }
  std::size_t slash = rest.find('/');
  t.authority = std::string(rest.substr(0, slash));
  if (t.authority.empty()) {
    *error = "has no host or upstream name";
    return std::nullopt;
  }
  if (t.authority.find_first_of("?#@ ") != std::string::npos) {
    *error = "has an invalid host or upstream name";
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    t.has_uri = true;
    t.uri = std::string(rest.substr(slash));
  }
  return t;
}

void append_encoded_path(std::string& out, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '"' || c == '<' ||
        c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
}

std::string map_upstream_uri(const Request& request, const LocationConfig& location,
                             const ProxyTarget& target) {
  std::string out;
  if (!target.has_uri) {
    std::string_view raw = request.target();
    if (!raw.empty() && raw[0] == '/') return std::string(raw);
    // An absolute-form target ("http://host/x") goes upstream in origin form.
    SplitTarget split;
    if (split_target(raw, split)) {
      out.assign(split.path);
      if (!split.query.empty()) out.append("?").append(split.query);
      return out;
    }
    return "/";
  }
  std::string_view path = request.path();
  out = target.uri;
  bool prefix = location.match == MatchKind::prefix ||
                location.match == MatchKind::priority_prefix || location.match == MatchKind::exact;
  if (prefix && path.starts_with(location.path)) {
    append_encoded_path(out, path.substr(location.path.size()));
  } else {
    // A regex location cannot say what to replace (the loader refuses a URI there); keep the
    // whole path after the given URI's directory.
    if (out.ends_with('/') && path.starts_with('/')) path.remove_prefix(1);
    append_encoded_path(out, path);
  }
  if (!request.query().empty()) out.append("?").append(request.query());
  return out;
}

}  // namespace serverd
