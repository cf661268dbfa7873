#pragma once
// One parsed request head. Strings point into an arena owned by the request so that a pooled
// Request reused for the next request on any connection allocates nothing in the steady state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"

namespace serverd {

class TlsSession;

class Request {
 public:
  struct HeaderView {
    std::string_view name;
    std::string_view value;
  };

  std::string_view method() const { return method_; }
  bool is_head() const { return method_ == "HEAD"; }
  bool is_get_or_head() const { return method_ == "GET" || method_ == "HEAD"; }
  // Raw request target as received: "/a%20b/c?x=1"
  std::string_view target() const { return target_; }
  // Percent-decoded, dot-segments resolved, "//" merged: "/a b/c". Always starts with '/'.
  std::string_view path() const { return path_; }
  // Raw query string without '?', empty when none.
  std::string_view query() const { return query_; }
  int version_major() const { return major_; }
  int version_minor() const { return minor_; }
  // "HTTP/1.1"
  std::string_view version_string() const { return minor_ == 0 ? "HTTP/1.0" : "HTTP/1.1"; }
  // Host without port, lower-cased; from the Host header (or an absolute-form target).
  std::string_view host() const { return host_; }

  // First header of that name (case-insensitive), nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
  const std::vector<HeaderView>& headers() const { return headers_; }

  std::optional<std::uint64_t> content_length() const { return content_length_; }
  bool chunked() const { return chunked_; }
  bool has_body() const { return chunked_ || content_length_.value_or(0) > 0; }
  bool keep_alive() const { return keep_alive_; }
  bool expects_continue() const { return expect_continue_; }
  // "Connection: upgrade" with an Upgrade header (e.g. a WebSocket handshake).
  bool upgrade() const { return upgrade_; }

  const SocketAddress& peer() const { return *peer_; }
  const SocketAddress& local() const { return *local_; }

  // --- filled in by the HTTP layer ---
  void reset();
  // The TLS connection the request came on (nullptr for plain HTTP).
  const TlsSession* tls() const { return tls_; }
  void set_tls(const TlsSession* tls) { tls_ = tls; }
  void set_addresses(const SocketAddress* peer, const SocketAddress* local) {
    peer_ = peer;
    local_ = local;
  }
  // Storage used while parsing; views above point into these.
  std::string method_;
  std::string target_;
  std::string path_;
  std::string query_;
  std::string host_;
  std::string header_arena_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> header_offsets_;  // name_end, value_end
  std::vector<HeaderView> headers_;
  int major_ = 1;
  int minor_ = 1;
  std::optional<std::uint64_t> content_length_;
  bool chunked_ = false;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool upgrade_ = false;
  // Groups of the server_name regex that selected the server ([0] = whole match): $1..$9.
  std::vector<std::string> server_name_captures_;

 private:
  const TlsSession* tls_ = nullptr;
  const SocketAddress* peer_ = nullptr;
  const SocketAddress* local_ = nullptr;
};

}  // namespace serverd
