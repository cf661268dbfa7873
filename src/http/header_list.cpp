#include "http/header_list.hpp"

#include <algorithm>

namespace serverd {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos)
      return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}

void HeaderList::set(std::string_view name, std::string value) {
  remove(name);
  items_.push_back({std::string(name), std::move(value)});
}

void HeaderList::remove(std::string_view name) {
  std::erase_if(items_, [&](const Header& h) { return iequals(h.name, name); });
}

const std::string* HeaderList::find(std::string_view name) const {
  for (const auto& h : items_)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

}  // namespace serverd
