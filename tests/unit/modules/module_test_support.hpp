#pragma once
// Helpers for module tests: a request built by hand, an Exchange that records the response, a
// temporary directory of real files, and module settings parsed from TOML text.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "core/config_context.hpp"
#include "http/exchange.hpp"
#include "http/module.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace serverd::test {

// A Request filled the way the HTTP layer fills one.
class TestRequest {
 public:
  explicit TestRequest(std::string method = "GET", std::string target = "/") {
    set_target(std::move(target));
    req_.method_ = std::move(method);
    peer_ = *parse_listen_address("192.0.2.7:51000", nullptr);
    local_ = *parse_listen_address("127.0.0.1:8080", nullptr);
    req_.set_addresses(&peer_, &local_);
  }
  TestRequest(const TestRequest&) = delete;
  TestRequest& operator=(const TestRequest&) = delete;

  // `target` is used as given for target_; path_ is taken as already decoded (tests that need a
  // decoded path different from the raw one call set_path()).
  TestRequest& set_target(std::string target) {
    req_.target_ = target;
    const std::size_t q = target.find('?');
    req_.path_ = target.substr(0, q);
    req_.query_ = q == std::string::npos ? std::string() : target.substr(q + 1);
    return *this;
  }
  TestRequest& set_path(std::string path) {
    req_.path_ = std::move(path);
    return *this;
  }
  TestRequest& set_host(std::string host) {
    req_.host_ = std::move(host);
    return *this;
  }
  TestRequest& header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    rebuild_headers();
    return *this;
  }

  const Request& get() const { return req_; }
  Request& get() { return req_; }

 private:
  // The views must point into the arena, which must not move afterwards: rebuilt as a whole.
  void rebuild_headers() {
    req_.header_arena_.clear();
    for (const auto& [n, v] : headers_) req_.header_arena_ += n + v;
    req_.headers_.clear();
    std::size_t off = 0;
    const std::string_view arena = req_.header_arena_;
    for (const auto& [n, v] : headers_) {
      req_.headers_.push_back(
          {arena.substr(off, n.size()), arena.substr(off + n.size(), v.size())});
      off += n.size() + v.size();
    }
  }

  Request req_;
  SocketAddress peer_;
  SocketAddress local_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// Records what a handler answers.
class FakeExchange : public Exchange {
 public:
  explicit FakeExchange(const Request& request) : request_(request) {}

  const Request& request() const override { return request_; }
  const ServerConfig& server() const override { return server_; }
  const LocationConfig& location() const override { return location_; }
  EventLoop& loop() override {
    // No test module handler may need the event loop: reaching this is a test failure.
    BOOST_FAIL("handler asked for the event loop");
    std::abort();
  }
  WorkerContext& worker() override {
    BOOST_FAIL("handler asked for the worker context");
    std::abort();
  }
  std::string_view scheme() const override { return "http"; }
  ExchangeLog& log_info() override { return log_; }
  void respond(Response&& response) override {
    ++responses;
    response_ = std::move(response);
  }
  // The static and return modules answer in one piece: streaming is a test failure.
  void attach(ExchangeHandler*) override { BOOST_FAIL("unexpected attach()"); }
  void pause_request_body(bool) override { BOOST_FAIL("unexpected pause_request_body()"); }
  void start_response(Response&&, std::optional<std::uint64_t>) override {
    BOOST_FAIL("unexpected start_response()");
  }
  bool send_body(std::string_view) override {
    BOOST_FAIL("unexpected send_body()");
    return false;
  }
  void end_response() override { BOOST_FAIL("unexpected end_response()"); }
  void abort_response() override { BOOST_FAIL("unexpected abort_response()"); }
  void start_tunnel(Response&&) override { BOOST_FAIL("unexpected start_tunnel()"); }

  // The single response; fails the test when there was none or more than one.
  Response& response() {
    BOOST_REQUIRE_EQUAL(responses, 1);
    return *response_;
  }

  LocationConfig& location_config() { return location_; }

  int responses = 0;

 private:
  const Request& request_;
  ServerConfig server_;
  LocationConfig location_;
  std::optional<Response> response_;
  ExchangeLog log_;
};

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/serverd-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes `content` at `rel` (parents created) with modification time `mtime`.
  void write(const std::string& rel, std::string_view content, std::time_t mtime) const {
    const auto p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    {
      std::ofstream out(p, std::ios::binary);
      out.write(content.data(), static_cast<std::streamsize>(content.size()));
      BOOST_REQUIRE(out.good());
    }
    const timespec times[2] = {{mtime, 0}, {mtime, 0}};
    BOOST_REQUIRE_EQUAL(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  }
  void mkdir(const std::string& rel) const { std::filesystem::create_directories(path_ / rel); }

 private:
  std::filesystem::path path_;
};

// The bytes a response would send from its file descriptor.
inline std::string read_body_file(const Response& r) {
  BOOST_REQUIRE(static_cast<bool>(r.file));
  std::string out(r.file_length, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(r.file.get(), out.data() + done, out.size() - done,
                              static_cast<off_t>(r.file_offset + done));
    BOOST_REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
  return out;
}

// Header value or "<absent>", so that BOOST_TEST equality messages show what was there.
inline std::string header_or_absent(const Response& r, std::string_view name) {
  const std::string* v = r.headers.find(name);
  return v != nullptr ? *v : std::string("<absent>");
}

// Runs one module's configure() on a block parsed from TOML text, with errors collected.
struct ConfigureResult {
  ModuleConfPtr conf;
  ErrorList errors;
  std::string error_text() const { return errors.to_string(); }
};

inline ConfigureResult configure_from(const Module& module, ConfigLevel level,
                                      std::string_view toml_text, const ModuleConfPtr& parent,
                                      const std::filesystem::path& base_dir = "/etc/serverd") {
  ConfigureResult result;
  toml::table table = toml::parse(toml_text, std::string_view("test.toml"));
  ConfigContext ctx("test.toml", base_dir, result.errors);
  result.conf = module.configure(level, table, parent, ctx);
  return result;
}

}  // namespace serverd::test
