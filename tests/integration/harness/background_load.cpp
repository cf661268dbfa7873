#include "background_load.hpp"

#include <exception>

#include "http_client.hpp"
#include "process_tree.hpp"

namespace serverd::itest::ps {

BackgroundLoad::BackgroundLoad(LoadOptions options) : options_(std::move(options)) {
  samples_.reserve(static_cast<std::size_t>(options_.max_requests));
  thread_ = std::thread([this] { run(); });
}

BackgroundLoad::~BackgroundLoad() {
  stop();
}

std::vector<LoadSample> BackgroundLoad::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return samples_;
}

void BackgroundLoad::run() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + options_.max_duration;
  for (int i = 0; i < options_.max_requests && !stop_ && Clock::now() < deadline; ++i) {
    LoadSample s;
    s.start = Clock::now();
    try {
      HttpConnection conn = HttpConnection::connect(options_.port, options_.timeout);
      s.connected = true;
      if (!conn.try_send(options_.request, options_.timeout)) {
        s.error = "send failed";
      } else {
        if (options_.candidates)
          s.owner = connection_owner(options_.port, conn.fd(), options_.candidates());
        ReadOptions ro;
        ro.timeout = options_.timeout;
        const ReadResult r = conn.read_response(ro);
        if (r.status == ReadStatus::ok) {
          s.status = r.response.status;
          s.ok = r.response.status == options_.expected_status &&
                 r.response.body == options_.expected_body;
          if (!s.ok) s.error = "unexpected response: " + printable(r.response.raw_head);
        } else {
          s.error = std::string(to_string(r.status)) + ": " + r.error;
        }
      }
    } catch (const std::exception& e) {
      s.error = e.what();
    }
    s.end = Clock::now();
    samples_.push_back(std::move(s));
    ++completed_;
    if (options_.pause.count() > 0) std::this_thread::sleep_for(options_.pause);
  }
}

}  // namespace serverd::itest::ps
