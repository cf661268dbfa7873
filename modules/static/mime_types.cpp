#include "modules/static/mime_types.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace serverd {
namespace {

using Entry = std::pair<std::string_view, std::string_view>;

// Sorted by extension (checked at compile time below) for binary search. Types follow nginx's
// mime.types where it has them, and the IANA registry otherwise.
constexpr auto kTypes = std::to_array<Entry>({
    {"7z", "application/x-7z-compressed"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"eot", "application/vnd.ms-fontobject"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/x-icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"m4a", "audio/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "text/xml"},
    {"xz", "application/x-xz"},
    {"zip", "application/zip"},
});

static_assert(std::ranges::is_sorted(kTypes, {}, &Entry::first));

// Longer than any extension in the table: anything longer cannot match.
constexpr std::size_t kMaxExtension = 16;

}  // namespace

std::optional<std::string_view> mime_type_for_extension(std::string_view ext) {
  if (ext.empty() || ext.size() > kMaxExtension) return std::nullopt;
  std::array<char, kMaxExtension> buf{};
  for (std::size_t i = 0; i < ext.size(); ++i) {
    const char c = ext[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
  }
  const std::string_view lower(buf.data(), ext.size());
  const auto* it = std::ranges::lower_bound(kTypes, lower, {}, &Entry::first);
  if (it == kTypes.end() || it->first != lower) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> mime_type_for_path(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  return mime_type_for_extension(name.substr(dot + 1));
}

}  // namespace serverd
