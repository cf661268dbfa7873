#include "http/accept_pauses.hpp"

#include <fmt/format.h>

namespace serverd {
namespace {
std::string_view pauses_word(std::uint64_t n) {
  return n == 1 ? "pause" : "pauses";
}
}  // namespace

std::optional<AcceptPauses::Line> AcceptPauses::paused(Clock::time_point now, std::string_view what,
                                                       bool severe) {
  if (episode_++ == 0) episode_start_ = now;
  if (last_line_ && now - *last_line_ < interval_) {
    ++unlogged_;
    return std::nullopt;
  }
  std::string text = fmt::format("{}; pausing accept, retrying every {}ms", what, retry_.count());
  if (unlogged_ != 0 && last_line_)
    text += fmt::format(
        " ({} more {} since the last such line {}s ago)", unlogged_, pauses_word(unlogged_),
        std::chrono::duration_cast<std::chrono::seconds>(now - *last_line_).count());
  last_line_ = now;
  unlogged_ = 0;
  reported_ = true;
  severe_ = severe;
  return Line{severe, std::move(text)};
}

std::optional<AcceptPauses::Line> AcceptPauses::accepted(Clock::time_point now,
                                                         std::string_view address) {
  std::optional<Line> line;
  if (reported_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - episode_start_);
    line = Line{severe_, fmt::format("accepting again on {} after {} {} over {}ms", address,
                                     episode_, pauses_word(episode_), ms.count())};
    unlogged_ = 0;  // this line counted them
  }
  episode_ = 0;
  reported_ = false;
  return line;
}

}  // namespace serverd
