#pragma once
// What the loader hands to modules while they read their keys: typed getters that record
// FILE:LINE:COL errors instead of throwing, and path resolution against the config's directory.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace serverd {

class ConfigContext {
 public:
  ConfigContext(std::string file, std::filesystem::path base_dir, ErrorList& errors)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), errors_(errors) {}

  const std::string& file() const { return file_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  ErrorList& errors() { return errors_; }

  SourcePos pos(const toml::node& node) const;
  SourcePos pos(const toml::source_region& region) const;
  void error(const toml::node& node, std::string message);

  // Each getter returns nullopt when the key is absent (no error) or invalid (error recorded
  // at the value's position, naming the key and what was expected).
  std::optional<std::string> get_string(const toml::table& t, std::string_view key);
  std::optional<std::int64_t> get_integer(const toml::table& t, std::string_view key,
                                          std::int64_t min, std::int64_t max);
  std::optional<bool> get_bool(const toml::table& t, std::string_view key);
  std::optional<Duration> get_duration(const toml::table& t, std::string_view key);
  std::optional<std::uint64_t> get_size(const toml::table& t, std::string_view key);
  // A string or an array of strings.
  std::optional<std::vector<std::string>> get_string_list(const toml::table& t,
                                                          std::string_view key);
  // One of `choices`; otherwise an error listing them.
  std::optional<std::string> get_enum(const toml::table& t, std::string_view key,
                                      std::initializer_list<std::string_view> choices);

  // The same checks on a value already found (`key` names it in messages).
  std::optional<std::string> read_string(const toml::node& node, std::string_view key);
  std::optional<std::int64_t> read_integer(const toml::node& node, std::string_view key,
                                           std::int64_t min, std::int64_t max);
  std::optional<bool> read_bool(const toml::node& node, std::string_view key);
  std::optional<Duration> read_duration(const toml::node& node, std::string_view key);
  std::optional<std::uint64_t> read_size(const toml::node& node, std::string_view key);
  std::optional<std::vector<std::string>> read_string_list(const toml::node& node,
                                                           std::string_view key);
  std::optional<std::string> read_enum(const toml::node& node, std::string_view key,
                                       std::span<const std::string_view> choices);

  // Relative paths resolve against the config file's directory (absolute stay as they are).
  std::filesystem::path resolve_path(std::string_view path) const;

 private:
  std::string file_;
  std::filesystem::path base_dir_;
  ErrorList& errors_;
};

}  // namespace serverd
