#pragma once
// File extension -> Content-Type, from a built-in table (no mime.types file to ship or parse).
#include <optional>
#include <string_view>

namespace serverd {

// Case-insensitive extension without the dot ("html", "PNG"); nullopt when unknown.
std::optional<std::string_view> mime_type_for_extension(std::string_view ext);

// Looks at the extension of the last path segment ("/a.b/c.tar.gz" -> "gz"); nullopt when the
// name has none or it is unknown. Dotfiles (".bashrc") have no extension.
std::optional<std::string_view> mime_type_for_path(std::string_view path);

}  // namespace serverd
