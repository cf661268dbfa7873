#pragma once
// Durations ("500ms", "30s", "5m", "1h", "1d") and sizes ("512", "16KiB", "100MiB", "1GiB",
// also "16k"/"16K"/"1m"/"1M" as nginx writes them).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace serverd {

using Duration = std::chrono::milliseconds;

// nullopt when the text is not a valid duration. A bare number is not accepted: the unit is
// required so "30" is never silently read as milliseconds or seconds.
std::optional<Duration> parse_duration(std::string_view text);
// nullopt when the text is not a valid size. A bare integer means bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

// Canonical text, the largest unit that divides exactly: 30000ms -> "30s", 1536 -> "1536",
// 16384 -> "16KiB". parse(format(x)) == x.
std::string format_duration(Duration d);
std::string format_size(std::uint64_t bytes);

}  // namespace serverd
