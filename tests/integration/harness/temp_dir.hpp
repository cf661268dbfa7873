#pragma once
// A private temporary directory per test, removed (recursively) when the object goes away.
#include <filesystem>
#include <string>
#include <string_view>

namespace serverd::itest {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }

  // Writes `content` to path()/rel (creating parent directories) and returns the full path.
  std::filesystem::path write(const std::filesystem::path& rel, std::string_view content) const;
  // Creates path()/rel (and parents) and returns the full path.
  std::filesystem::path mkdir(const std::filesystem::path& rel) const;

 private:
  std::filesystem::path path_;
};

// The whole file, or "" when it does not exist / cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace serverd::itest
