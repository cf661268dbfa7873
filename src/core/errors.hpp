#pragma once
// Config/startup errors. Every error a user can cause in a config file names FILE:LINE:COL.
#include <stdexcept>
#include <string>
#include <vector>

namespace serverd {

struct SourcePos {
  std::string file;
  int line = 0;
  int col = 0;
};

struct ConfigError {
  SourcePos pos;
  std::string message;
  // "FILE:LINE:COL: message" (or "FILE: message" when no position is known).
  std::string to_string() const;
};

// Collects every error of a load instead of stopping at the first.
class ErrorList {
 public:
  void add(const SourcePos& pos, std::string message) {
    errors_.push_back({pos, std::move(message)});
  }
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  const std::vector<ConfigError>& items() const { return errors_; }
  // All errors, one per line, sorted by position.
  std::string to_string() const;

 private:
  std::vector<ConfigError> errors_;
};

// Thrown at startup when the config cannot be used; carries every error.
class ConfigException : public std::runtime_error {
 public:
  explicit ConfigException(ErrorList errors)
      : std::runtime_error(errors.to_string()), errors_(std::move(errors)) {}
  const ErrorList& errors() const { return errors_; }

 private:
  ErrorList errors_;
};

}  // namespace serverd
