// The static module: exact bytes, MIME types, validators (ETag / Last-Modified -> 304),
// ranges (206 / 416), index files, directory redirects, 404, and path traversal attempts.
#include <sys/stat.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <ctime>
#include <regex>
#include <string>

#include "harness/checks.hpp"
#include "harness/test_server.hpp"

namespace it = serverd::itest;
using namespace std::chrono_literals;

namespace {

const char* const kIndex = "<!doctype html>\n<html><body>static index</body></html>\n";
const char* const kSubIndex = "sub index\n";
const std::string kText = "0123456789abcdefghijklmnopqrstuvwxyz\n";  // 37 bytes
const char* const kSecret = "TOP-SECRET-DO-NOT-SERVE\n";
constexpr std::size_t kBigSize = 1024 * 1024;

std::string imf_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 64> buf{};
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf.data();
}

struct StaticServer : it::TestServer {
  StaticServer()
      : it::TestServer(it::simple_config(), [](const it::TempDir& d) {
          d.write("html/index.html", kIndex);
          d.write("html/sub/index.html", kSubIndex);
          d.write("html/file.txt", kText);
          d.write("html/big.bin", it::pseudo_random_bytes(kBigSize, 42));
          d.mkdir("html/a");
          d.write("secret", kSecret);
        }) {}

  // The response must not be a leak of the file outside the root.
  void check_rejected(std::string_view target) const {
    BOOST_TEST_CONTEXT("GET " << target) {
      it::HttpConnection conn = connect();
      conn.send(it::get_request(target));
      const it::ReadResult r = conn.read_response();
      BOOST_TEST(it::to_string(r.status) == "ok", r.error);
      BOOST_TEST(r.response.status == 400);
      BOOST_TEST(!it::contains(r.response.body, "TOP-SECRET"));
      BOOST_TEST(!it::contains(conn.buffered(), "TOP-SECRET"));
    }
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(static_files, StaticServer)

BOOST_AUTO_TEST_CASE(file_with_type_and_validators) {
  const it::Response r = get("/index.html");
  it::check_fixed_body(r, kIndex);
  it::check_common_headers(r);
  BOOST_TEST(r.header("Content-Type").value_or("").rfind("text/html", 0) == 0U,
             "Content-Type: " << r.header("Content-Type").value_or("<none>"));
  BOOST_TEST(r.header("Accept-Ranges").value_or("<none>") == "bytes");
  const std::string etag = r.header("ETag").value_or("<none>");
  BOOST_TEST(std::regex_match(etag, std::regex(R"(^(W/)?"[^"]+"$)")), "ETag: " << etag);
  struct stat st {};
  BOOST_REQUIRE(::stat((dir() / "html/index.html").c_str(), &st) == 0);
  BOOST_TEST(r.header("Last-Modified").value_or("<none>") == imf_date(st.st_mtime));

  BOOST_TEST(get("/file.txt").header("Content-Type").value_or("").rfind("text/plain", 0) == 0U);
  BOOST_TEST(get("/big.bin").header("Content-Type").value_or("<none>") ==
             "application/octet-stream");
}

BOOST_AUTO_TEST_CASE(index_files_and_directory_redirect) {
  it::check_fixed_body(get("/"), kIndex);
  it::check_fixed_body(get("/sub/"), kSubIndex);
  it::check_fixed_body(get("/?q=1"), kIndex);
  const it::Response r = get("/sub");
  BOOST_TEST(r.status == 301);
  const std::string loc = r.header("Location").value_or("<none>");
  BOOST_TEST(it::redirect_target_is(loc, "/sub/", port()), "Location: " << loc);
  // Percent-encoded names are decoded.
  it::check_fixed_body(get("/%69ndex.html"), kIndex);
}

BOOST_AUTO_TEST_CASE(missing_file_is_404) {
  const it::Response r = get("/missing");
  BOOST_TEST(r.status == 404);
  it::check_common_headers(r);
  BOOST_TEST(r.header_count("Content-Length") == 1U);
  BOOST_TEST(get("/sub/missing.html").status == 404);
}

BOOST_AUTO_TEST_CASE(conditional_requests_get_304_without_body) {
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/index.html"));
  const it::Response full = conn.expect_response();
  BOOST_REQUIRE(full.status == 200);
  const std::string etag = full.header("ETag").value_or("");
  const std::string last_modified = full.header("Last-Modified").value_or("");

  conn.send(it::get_request("/index.html", "localhost", "If-None-Match: " + etag + "\r\n"));
  const it::Response by_etag = conn.expect_response();
  BOOST_TEST(by_etag.status == 304);
  BOOST_TEST(by_etag.body.empty());
  BOOST_TEST(by_etag.header("ETag").value_or("<none>") == etag);
  BOOST_TEST(conn.quiet_for(150ms), "bytes after a 304: " << it::printable(conn.buffered()));

  conn.send(
      it::get_request("/index.html", "localhost", "If-Modified-Since: " + last_modified + "\r\n"));
  const it::Response by_date = conn.expect_response();
  BOOST_TEST(by_date.status == 304);
  BOOST_TEST(conn.quiet_for(150ms), "bytes after a 304: " << it::printable(conn.buffered()));

  // Validators that do not match: the full file.
  conn.send(it::get_request("/index.html", "localhost", "If-None-Match: \"nope\"\r\n"));
  it::check_fixed_body(conn.expect_response(), kIndex);
  conn.send(it::get_request("/index.html", "localhost",
                            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
  it::check_fixed_body(conn.expect_response(), kIndex);
}

BOOST_AUTO_TEST_CASE(byte_ranges) {
  const std::string size = std::to_string(kText.size());
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/file.txt", "localhost", "Range: bytes=0-9\r\n"));
  const it::Response first = conn.expect_response();
  BOOST_TEST(first.status == 206);
  BOOST_TEST(first.header("Content-Range").value_or("<none>") == "bytes 0-9/" + size);
  BOOST_TEST(first.header("Content-Length").value_or("<none>") == "10");
  BOOST_TEST(first.body == kText.substr(0, 10));

  conn.send(it::get_request("/file.txt", "localhost", "Range: bytes=-5\r\n"));
  const it::Response last = conn.expect_response();
  BOOST_TEST(last.status == 206);
  BOOST_TEST(last.header("Content-Range").value_or("<none>") == "bytes 32-36/" + size);
  BOOST_TEST(last.body == kText.substr(kText.size() - 5));

  conn.send(it::get_request("/file.txt", "localhost", "Range: bytes=30-\r\n"));
  const it::Response tail = conn.expect_response();
  BOOST_TEST(tail.status == 206);
  BOOST_TEST(tail.header("Content-Range").value_or("<none>") == "bytes 30-36/" + size);
  BOOST_TEST(tail.body == kText.substr(30));

  conn.send(it::get_request("/file.txt", "localhost", "Range: bytes=" + size + "-\r\n"));
  const it::Response unsatisfiable = conn.expect_response();
  BOOST_TEST(unsatisfiable.status == 416);
  BOOST_TEST(unsatisfiable.header("Content-Range").value_or("<none>") == "bytes */" + size);
  BOOST_TEST(!it::contains(unsatisfiable.body, kText));

  // Still in sync after all that.
  conn.send(it::get_request("/file.txt"));
  it::check_fixed_body(conn.expect_response(), kText);
}

BOOST_AUTO_TEST_CASE(traversal_attempts_are_400) {
  check_rejected("/../secret");
  check_rejected("/%2e%2e/secret");
  check_rejected("/%2E%2E/secret");
  check_rejected("/a/%2e%2e/%2e%2e/secret");
  check_rejected("/a/../../secret");
  check_rejected("/x%00y");
}

BOOST_AUTO_TEST_CASE(one_mebibyte_file_is_byte_exact) {
  const std::string expected = it::pseudo_random_bytes(kBigSize, 42);
  it::HttpConnection conn = connect();
  conn.send(it::get_request("/big.bin"));
  const it::Response r = conn.expect_response(it::ReadOptions{false, 10s});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("Content-Length").value_or("<none>") == std::to_string(kBigSize));
  BOOST_TEST(r.body.size() == kBigSize);
  BOOST_TEST((r.body == expected), "1 MiB body differs");
  // Keep-alive after a sendfile()d body.
  conn.send(it::get_request("/file.txt"));
  it::check_fixed_body(conn.expect_response(), kText);
}

BOOST_AUTO_TEST_SUITE_END()
