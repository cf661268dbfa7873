#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace serverd {

bool iequals(std::string_view a, std::string_view b);
// A non-empty RFC 9110 §5.6.2 token (what a header field name must be).
bool is_token(std::string_view s);

struct Header {
  std::string name;
  std::string value;
};

// Response headers (and anything a module builds). Order is kept; lookups ignore case.
class HeaderList {
 public:
  void add(std::string name, std::string value) {
    items_.push_back({std::move(name), std::move(value)});
  }
  // Replaces every header of that name with one.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  const std::string* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  void clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<Header> items_;
};

}  // namespace serverd
