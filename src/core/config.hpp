#pragma once
// The typed config model. Built whole by the loader, validated, then swapped in (nginx's cycle):
// a Config is immutable once loaded and shared by pointer.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"

namespace serverd {

struct ModuleConf;  // core/directive.hpp
class TlsContext;   // src/tls/tls_context.hpp: opaque here, built after loading
using ModuleConfPtr = std::shared_ptr<const ModuleConf>;
// Indexed by a module's position in the ordered module list; nullptr = not configured.
using ModuleConfs = std::vector<ModuleConfPtr>;

struct MainConfig {
  int worker_processes = 0;  // 0 = "auto" (online CPUs)
  int worker_connections = 10240;
  std::optional<std::uint64_t> worker_rlimit_nofile;
  bool worker_cpu_affinity = false;  // "auto" -> true
  std::string user;                  // empty = do not switch user
  std::filesystem::path pid_file;    // absolute after loading
  bool daemon = false;
  Duration shutdown_timeout{30'000};
  Duration upgrade_timeout{30'000};
  // Old generations allowed to drain at once; a reload beyond it stops the oldest at once.
  int max_draining_generations = 4;
  // How often the agent creates a new TLS session-ticket key (the previous ones keep
  // decrypting tickets for two more periods).
  Duration tls_ticket_key_rotation{3'600'000};
  SourcePos pos;
};

struct LogRotateConfig {
  std::optional<std::uint64_t> max_size;
  enum class Interval { never, hourly, daily } interval = Interval::never;
  int keep = 7;
  bool compress = true;
  bool enabled = false;  // the [log.rotate] table is present
};

struct LogConfig {
  std::string error_log = "stderr";  // "stderr" or an absolute path after loading
  std::string level = "info";        // trace|debug|info|warn|error|critical
  LogRotateConfig rotate;
};

struct UpstreamServerConfig {
  SourcePos pos;
  std::string address_text;
  SocketAddress address;
  int weight = 1;
  int max_fails = 1;
  Duration fail_timeout{10'000};
  bool backup = false;
};

// Active health checks, performed by the agent for the whole server.
struct HealthCheckConfig {
  std::string path = "/";
  Duration interval{5'000};
  Duration timeout{1'000};
  int rise = 2;               // consecutive successes that bring a down server back
  int fall = 3;               // consecutive failures that take an up server down
  std::vector<int> statuses;  // expected statuses; empty = any 2xx or 3xx
};

struct UpstreamConfig {
  SourcePos pos;
  std::optional<HealthCheckConfig> health_check;
  std::string name;
  std::string balance = "round_robin";  // round_robin|least_conn|ip_hash|hash|random
  std::string hash_key;                 // for balance = "hash", e.g. "$request_uri"
  int keepalive = 0;
  std::vector<UpstreamServerConfig> servers;
};

struct ListenConfig {
  SourcePos pos;
  std::string text;  // as written
  SocketAddress address;
  bool tls = false;
  bool reuseport = false;
  bool default_server = false;
  int backlog = 511;
};

// OpenSSL lists used when the config leaves ciphers, ciphersuites or curves empty.
inline constexpr std::string_view kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr std::string_view kDefaultTlsCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr std::string_view kDefaultTlsCurves = "X25519:prime256v1:secp384r1";

// A server's TLS settings (`tls = { ... }`). The certificates are read, checked and turned into
// an SSL_CTX right after the config loads (build_tls_contexts in tls/tls_context.hpp, run by
// `-t`, start and reload), so a broken certificate fails `-t` and a reload.
struct TlsServerConfig {
  SourcePos pos;
  std::filesystem::path certificate;  // PEM, leaf first, then the chain
  std::filesystem::path key;          // PEM
  std::vector<std::string> protocols{"TLSv1.2", "TLSv1.3"};
  std::string ciphers;                       // TLS 1.2 cipher list (OpenSSL syntax)
  std::string ciphersuites;                  // TLS 1.3 suites
  std::string curves;                        // groups, "X25519:prime256v1:secp384r1"
  std::filesystem::path ocsp_response;       // DER OCSP response to staple; empty = none
  std::filesystem::path client_certificate;  // CA bundle for client certificates
  enum class VerifyClient { off, on, optional } verify_client = VerifyClient::off;
  int verify_depth = 1;
  Duration handshake_timeout{10'000};
  // Where each key of the table was written, so that build errors name FILE:LINE:COL.
  std::vector<std::pair<std::string, SourcePos>> key_pos;
  std::shared_ptr<const TlsContext> context;  // built after loading
};

// Core HTTP settings of a server (nginx's http core module); locations may override some.
struct HttpLimits {
  std::uint64_t client_max_body_size = 1024 * 1024;  // 0 = unlimited
  std::uint64_t max_uri_length = 8 * 1024;           // request target longer -> 414
  std::uint64_t max_header_size = 16 * 1024;         // request line + headers -> 431
  Duration client_header_timeout{60'000};            // -> 408 and close
  Duration client_body_timeout{60'000};              // between two body reads -> 408
  Duration keepalive_timeout{75'000};                // idle keep-alive connection
  Duration send_timeout{60'000};                     // between two successful writes
  std::uint32_t keepalive_requests = 1000;           // then Connection: close
};

// nginx's precedence: exact ("="), then the longest prefix; if that longest prefix is a
// priority_prefix ("^~") it wins, else regexes in file order, else the longest prefix.
enum class MatchKind { prefix, priority_prefix, exact, regex, regex_icase };

struct LocationConfig {
  SourcePos pos;
  std::string path;
  MatchKind match = MatchKind::prefix;
  std::shared_ptr<const std::regex> regex;  // for regex matches
  std::uint64_t client_max_body_size = 1024 * 1024;
  ModuleConfs modules;
  int handler = -1;  // index of the content-handler module, -1 = none (404)
};

struct ServerConfig {
  SourcePos pos;
  std::vector<ListenConfig> listen;
  std::vector<std::string> server_names;   // lower-case; "*.example.com" wildcards allowed
  std::vector<SourcePos> server_name_pos;  // parallel to server_names (for error messages)
  HttpLimits limits;
  std::optional<TlsServerConfig> tls;
  ModuleConfs modules;
  std::vector<LocationConfig> locations;  // in file order
};

struct Config {
  std::string file;                // the path as given
  std::filesystem::path base_dir;  // relative paths resolve against this
  MainConfig main;
  LogConfig log;
  std::vector<UpstreamConfig> upstreams;
  std::vector<ServerConfig> servers;
  ModuleConfs modules;  // main-level module settings
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace serverd
