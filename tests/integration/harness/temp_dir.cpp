#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace serverd::itest {

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "serverd-itest-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  // SERVERD_KEEP_TMP=1 keeps every test's directory (configs, error logs) for a post-mortem.
  if (const char* keep = std::getenv("SERVERD_KEEP_TMP"); keep && *keep == '1') return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::filesystem::path& rel,
                                     std::string_view content) const {
  const std::filesystem::path full = path_ / rel;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + full.string());
  return full;
}

std::filesystem::path TempDir::mkdir(const std::filesystem::path& rel) const {
  const std::filesystem::path full = path_ / rel;
  std::filesystem::create_directories(full);
  return full;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace serverd::itest
