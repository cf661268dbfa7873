#pragma once
// Shared by the logging tests: a config with an access log, reading log files as lines (gzip
// included), parsing combined lines, and waiting for a file to hold a number of lines.
#include <sys/stat.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../harness/temp_dir.hpp"

namespace serverd::itest::logging {

using namespace std::chrono_literals;

// [main] with `workers` workers, the error log, `log_extra` (e.g. a [log.rotate] table), one
// server on {PORT} writing logs/access.log (flushed every 100ms) with `server_lines`, and:
//   /hi      exact: 200 "hi\n"
//   /quiet   prefix, access_log = "off": 200 "quiet\n"
//   /        static files from html/ (index.html is kIndex)
inline constexpr std::string_view kIndex = "<html>logging index</html>\n";

inline std::string logging_config(int workers, std::string_view server_lines = "",
                                  std::string_view log_extra = "",
                                  std::string_view extra_tables = "") {
  std::string c =
      "[main]\npid_file = \"serverd.pid\"\nworker_processes = " + std::to_string(workers) +
      "\n\n[log]\nerror_log = \"error.log\"\nlevel = \"info\"\n";
  c += log_extra;
  c += "\n";
  c += extra_tables;
  c += "\n[[server]]\nlisten = [\"127.0.0.1:{PORT}\"]\nserver_name = [\"localhost\"]\n"
       "access_log = \"logs/access.log\"\naccess_log_flush = \"100ms\"\n";
  c += server_lines;
  c += "\n"
       "  [[server.location]]\n"
       "  path = \"/hi\"\n"
       "  match = \"exact\"\n"
       "  return = { status = 200, body = \"hi\\n\" }\n\n"
       "  [[server.location]]\n"
       "  path = \"/quiet\"\n"
       "  access_log = \"off\"\n"
       "  return = { status = 200, body = \"quiet\\n\" }\n\n"
       "  [[server.location]]\n"
       "  path = \"/\"\n"
       "  root = \"html\"\n";
  return c;
}

inline void populate(const TempDir& d) {
  d.write("html/index.html", kIndex);
}

// The lines of `text` (each without its '\n'); a last line without '\n' is kept too and
// flagged through `torn`.
inline std::vector<std::string> split_lines(std::string_view text, bool* torn = nullptr) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(pos));
      if (torn) *torn = true;
      break;
    }
    lines.emplace_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

inline std::vector<std::string> file_lines(const std::filesystem::path& p, bool* torn = nullptr) {
  return split_lines(read_file(p), torn);
}

// The whole decompressed content of a gzip file; nullopt when it cannot be opened or is not a
// complete, valid gzip stream.
inline std::optional<std::string> read_gzip(const std::filesystem::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (f == nullptr) return std::nullopt;
  std::string out;
  char buf[64 * 1024];
  bool ok = true;
  for (int i = 0; i < 1'000'000; ++i) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  int err = Z_OK;
  gzerror(f, &err);
  if (err != Z_OK && err != Z_STREAM_END) ok = false;
  if (gzclose(f) != Z_OK) ok = false;
  if (!ok) return std::nullopt;
  return out;
}

// Polls (bounded) until `path` holds at least `n` lines; returns the lines it last saw.
inline std::vector<std::string> wait_for_lines(const std::filesystem::path& path, std::size_t n,
                                               std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> lines;
  for (int i = 0; i < 100000; ++i) {
    lines = file_lines(path);
    if (lines.size() >= n || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(10ms);
  }
  return lines;
}

// One combined line, taken apart.
struct CombinedLine {
  std::string remote_addr;
  std::string time_local;
  std::string method;
  std::string target;
  std::string protocol;
  int status = 0;
  std::uint64_t bytes = 0;
  std::string referer;
  std::string user_agent;
};

inline std::optional<CombinedLine> parse_combined(const std::string& line) {
  static const std::regex re(
      R"re(^(\S+) - - \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] )re"
      R"re("(\S+) (\S+) (HTTP/1\.[01])" (\d{3}) (\d+) "((?:[^"\\]|\\x[0-9A-F]{2})*)" )re"
      R"re("((?:[^"\\]|\\x[0-9A-F]{2})*)"$)re");
  std::smatch m;
  if (!std::regex_match(line, m, re)) return std::nullopt;
  CombinedLine c;
  c.remote_addr = m[1];
  c.time_local = m[2];
  c.method = m[3];
  c.target = m[4];
  c.protocol = m[5];
  c.status = std::stoi(m[6]);
  c.bytes = std::stoull(m[7]);
  c.referer = m[8];
  c.user_agent = m[9];
  return c;
}

// Lines of the error log that contain every one of `needles`.
inline std::size_t count_log_lines(std::string_view log,
                                   std::initializer_list<std::string_view> needles) {
  std::size_t n = 0;
  for (const auto& line : split_lines(log)) {
    bool all = true;
    for (auto needle : needles) all = all && line.find(needle) != std::string::npos;
    n += all ? 1 : 0;
  }
  return n;
}

}  // namespace serverd::itest::logging
