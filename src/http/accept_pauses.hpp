#pragma once
// What a worker logs when it pauses accepting for a shortage (descriptors, memory,
// worker_connections). A sustained shortage pauses ten times a second, and a line for each
// would flood the error log: the first pause is reported, then at most one line per interval
// with the number of pauses in between, and the first accept after a reported pause says that
// accepting works again.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "event/timer.hpp"

namespace serverd {

class AcceptPauses {
 public:
  struct Line {
    bool severe = false;  // error rather than warn level
    std::string text;
  };

  explicit AcceptPauses(std::chrono::milliseconds retry,
                        std::chrono::seconds interval = std::chrono::seconds(10))
      : retry_(retry), interval_(interval) {}

  // Accepting pauses at `now` because of `what` (retrying after `retry`): the line to log, when
  // one is due.
  std::optional<Line> paused(Clock::time_point now, std::string_view what, bool severe);
  // An accept on `address` succeeded: the line to log when it ends a reported pause.
  std::optional<Line> accepted(Clock::time_point now, std::string_view address);
  // Paused at least once since the last accept that succeeded.
  bool pausing() const { return episode_ != 0; }

 private:
  std::chrono::milliseconds retry_;
  std::chrono::seconds interval_;
  std::uint64_t episode_ = 0;   // pauses since an accept last succeeded
  std::uint64_t unlogged_ = 0;  // pauses no line has counted yet
  Clock::time_point episode_start_{};
  std::optional<Clock::time_point> last_line_;  // of the last pause line
  bool reported_ = false;                       // a pause line was logged this episode
  bool severe_ = false;                         // the level of that line
};

}  // namespace serverd
