#include "http/request.hpp"

#include "http/header_list.hpp"

namespace serverd {

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& h : headers_)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

void Request::reset() {
  // clear() keeps capacity: a pooled Request allocates nothing once warmed up.
  method_.clear();
  target_.clear();
  path_.clear();
  query_.clear();
  host_.clear();
  header_arena_.clear();
  header_offsets_.clear();
  headers_.clear();
  server_name_captures_.clear();
  major_ = 1;
  minor_ = 1;
  content_length_.reset();
  chunked_ = false;
  keep_alive_ = true;
  expect_continue_ = false;
  upgrade_ = false;
}

}  // namespace serverd
