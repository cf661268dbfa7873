#pragma once
// An HTTP load driver for tests: N client threads doing GET requests against 127.0.0.1:port for
// a bounded time (and a bounded number of requests), either on keep-alive connections or with
// one connection per request. It counts successes, failures and the bodies seen, so a test can
// assert "zero failed requests" and tell which configuration generation answered.
//
// What counts as a failure is what a correct HTTP/1.1 client could not recover from on its own:
//   - connect() refused, reset or timed out;
//   - a request that was sent (or could not be sent) and got no complete response: the
//     connection closed or was reset before or inside the response, or the response timed out;
//   - a malformed or non-200 response;
//   - an idle keep-alive connection reset (RST) by the server, or unsolicited bytes on it.
// Not a failure (RFC 9112 section 9.3.1): the server answers `Connection: close` (the client
// reconnects), or closes an idle keep-alive connection cleanly (FIN) *before* the client sent
// its next request on it (the client notices the FIN before sending and reconnects). A close
// that races a request already sent is a failure: that is exactly what a graceful drain must
// never do.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace serverd::itest {

struct LoadOptions {
  int port = 0;
  int connections = 64;    // client threads; each uses one connection at a time
  bool keep_alive = true;  // false: a new connection (and "Connection: close") per request
  std::string target = "/";
  std::string host = "localhost";
  std::chrono::milliseconds duration{10'000};  // hard bound on the whole run
  std::uint64_t max_requests_per_thread = 1'000'000;
  std::chrono::milliseconds io_timeout{5'000};  // connect, send, and the whole response
  std::size_t max_body = 1 << 20;               // bigger bodies are failures ("body too big")
};

struct LoadStats {
  std::uint64_t attempts = 0;   // requests tried (including failed connects)
  std::uint64_t successes = 0;  // complete 200 responses
  std::uint64_t failures = 0;
  std::uint64_t connects = 0;          // connections opened
  std::uint64_t connection_close = 0;  // responses that carried "Connection: close"
  std::uint64_t idle_closes = 0;       // clean FIN noticed on an idle connection before reuse
  std::map<std::string, std::uint64_t> failure_kinds;  // reason -> count
  std::vector<std::string> failure_samples;            // the first few, with time and phase
  // Successful response bodies by the phase in which their request was started.
  std::map<int, std::map<std::string, std::uint64_t>> bodies;

  // Successes in `phase` whose body was `body` / anything else.
  std::uint64_t count(int phase, const std::string& body) const;
  std::uint64_t count_other(int phase, const std::string& body) const;
  std::uint64_t successes_in(int phase) const;
  // Multi-line human-readable report (counts, failure kinds and samples, bodies per phase).
  std::string summary() const;
  void merge(const LoadStats& other);
};

class LoadDriver {
 public:
  // Starts the client threads at once.
  explicit LoadDriver(LoadOptions options);
  // Stops (and joins) the threads if stop() was not called.
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  // Requests started from now on are recorded under `phase` (initially 0).
  void set_phase(int phase) { phase_.store(phase); }
  // Waits (bounded) until at least `n` successes in total were recorded.
  bool wait_for_successes(std::uint64_t n, std::chrono::milliseconds timeout) const;
  // The counts so far (the threads keep running).
  LoadStats snapshot() const;
  // Lets every thread finish the request it is in (bounded by io_timeout), joins them and
  // returns the final counts. Idempotent.
  LoadStats stop();

  const LoadOptions& options() const { return options_; }

 private:
  struct Client;
  void run(Client& client);

  LoadOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<int> phase_{0};
  std::vector<std::unique_ptr<Client>> clients_;
  bool joined_ = false;
  LoadStats final_;
};

}  // namespace serverd::itest
