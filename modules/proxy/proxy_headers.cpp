#include "modules/proxy/proxy_headers.hpp"

#include <fmt/format.h>

namespace serverd {

namespace {
// Tokens of every Connection header value (the headers they name are hop-by-hop too).
template <typename Visit>
void for_each_connection_token(std::string_view value, Visit visit) {
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    std::string_view item =
        value.substr(pos, comma == std::string_view::npos ? value.npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) visit(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
}  // namespace

bool is_hop_by_hop(std::string_view n) {
  return iequals(n, "connection") || iequals(n, "keep-alive") || iequals(n, "te") ||
         iequals(n, "trailer") || iequals(n, "transfer-encoding") || iequals(n, "upgrade") ||
         starts_with_icase(n, "proxy-");
}

HeaderList upstream_request_headers(const Request& request, const ForwardContext& ctx) {
  std::vector<std::string_view> named_by_connection;
  for (const auto& h : request.headers())
    if (iequals(h.name, "connection"))
      for_each_connection_token(h.value,
                                [&](std::string_view t) { named_by_connection.push_back(t); });
  auto named = [&](std::string_view name) {
    for (auto t : named_by_connection)
      if (iequals(t, name)) return true;
    return false;
  };

  HeaderList out;
  std::string forwarded_for;
  for (const auto& h : request.headers()) {
    if (iequals(h.name, "upgrade") && ctx.upgrade) {
      out.add(std::string(h.name), std::string(h.value));
      continue;
    }
    if (is_hop_by_hop(h.name) || named(h.name) || iequals(h.name, "content-length")) continue;
    if (iequals(h.name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += h.value;
      continue;
    }
    if (iequals(h.name, "x-forwarded-proto") || iequals(h.name, "x-forwarded-host") ||
        iequals(h.name, "x-real-ip"))
      continue;  // ours to set: a client must not be able to claim another address
    out.add(std::string(h.name), std::string(h.value));
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += ctx.client_ip;
  out.add("X-Forwarded-For", std::move(forwarded_for));
  out.add("X-Forwarded-Proto", std::string(ctx.scheme));
  if (auto host = request.header("host")) out.add("X-Forwarded-Host", std::string(*host));
  out.add("X-Real-IP", std::string(ctx.client_ip));
  if (ctx.set_headers) {
    for (const auto& [name, value] : *ctx.set_headers) {
      if (value.empty())
        out.remove(name);
      else
        out.set(name, value);
    }
  }
  return out;
}

std::string build_upstream_head(std::string_view method, std::string_view uri,
                                const HeaderList& headers, const Request& request, bool upgrade) {
  std::string head;
  head.reserve(512);
  fmt::format_to(std::back_inserter(head), "{} {} HTTP/1.1\r\n", method, uri);
  bool has_host = false;
  for (const auto& h : headers) {
    has_host = has_host || iequals(h.name, "host");
    head.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (!has_host) head.append("Host: localhost\r\n");  // HTTP/1.0 clients may send none
  if (request.chunked())
    head.append("Transfer-Encoding: chunked\r\n");
  else if (request.content_length())
    fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\n", *request.content_length());
  head.append(upgrade ? "Connection: upgrade\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
  return head;
}

HeaderList client_response_headers(const std::vector<Header>& upstream, bool switching,
                                   const std::vector<std::string>& hide) {
  std::vector<std::string_view> named_by_connection;
  for (const auto& h : upstream)
    if (iequals(h.name, "connection"))
      for_each_connection_token(h.value,
                                [&](std::string_view t) { named_by_connection.push_back(t); });
  HeaderList out;
  for (const auto& h : upstream) {
    if (switching && iequals(h.name, "upgrade")) {
      out.add(h.name, h.value);
      continue;
    }
    if (is_hop_by_hop(h.name) || iequals(h.name, "content-length") || iequals(h.name, "date") ||
        iequals(h.name, "server"))
      continue;
    bool drop = false;
    for (auto t : named_by_connection) drop = drop || iequals(t, h.name);
    for (const auto& x : hide) drop = drop || iequals(x, h.name);
    if (!drop) out.add(h.name, h.value);
  }
  return out;
}

}  // namespace serverd
