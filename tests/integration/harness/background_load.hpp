#pragma once
// A bounded background client: sequential requests, each on a fresh connection, from its own
// thread, until stopped (or a request count or deadline is reached). For each request it notes
// when it ran, how it ended and which server process had accepted its connection (looked up
// in /proc after the request is sent, before the response is read), so a test can tell the
// failures a killed worker explains from the ones it does not. No Boost.Test calls from the
// thread: the results are read after stop().
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace serverd::itest::ps {

struct LoadSample {
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
  bool connected = false;
  bool ok = false;    // connected, and a response with the expected status and body
  int status = 0;     // of the response, when one arrived
  pid_t owner = 0;    // the process that had accepted the connection; 0 when unknown
  std::string error;  // for failures
};

struct LoadOptions {
  int port = 0;
  std::string request;  // sent as is on each connection
  int expected_status = 200;
  std::string expected_body;
  // Processes that may own a connection (looked up for every request); empty: no lookup.
  std::function<std::vector<pid_t>()> candidates;
  int max_requests = 500;
  std::chrono::milliseconds max_duration{5000};
  std::chrono::milliseconds pause{2};  // between two requests
  std::chrono::milliseconds timeout{2000};
};

class BackgroundLoad {
 public:
  explicit BackgroundLoad(LoadOptions options);
  ~BackgroundLoad();
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  // Stops the thread (after its current request) and returns every sample.
  std::vector<LoadSample> stop();
  // Requests finished so far (for waiting until the load is really running).
  int completed() const { return completed_.load(); }

 private:
  void run();
  LoadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> completed_{0};
  std::vector<LoadSample> samples_;
  std::thread thread_;
};

}  // namespace serverd::itest::ps
