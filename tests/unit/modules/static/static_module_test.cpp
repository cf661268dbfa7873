// The static module end to end: a real directory, a request, and the exact response.
#include "modules/static/static_module.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "../module_test_support.hpp"

namespace serverd {
namespace {

using test::FakeExchange;
using test::header_or_absent;
using test::read_body_file;
using test::TempDir;
using test::TestRequest;

constexpr std::time_t kMtime = 784111777;
constexpr const char* kLastModified = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kIndex = "<h1>home</h1>\n";                        // 14 bytes
const std::string kCss = "body { color: black; }\n";                 // 23 bytes
const std::string kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";  // 36 bytes

// A document root with a few files, and the module configured on it.
struct Site {
  Site() {
    dir.write("index.html", kIndex, kMtime);
    dir.write("style.css", kCss, kMtime);
    dir.write("digits.txt", kDigits, kMtime);
    dir.write("blob.bin", "\x01\x02", kMtime);
    dir.write("empty.txt", "", kMtime);
    dir.write("docs/index.htm", "docs\n", kMtime);
    dir.mkdir("noindex");
    dir.write("images/a.png", "PNG!", kMtime);
    conf.root = dir.str();
  }

  // Runs one request through the module; the exchange keeps the response.
  FakeExchange& run(TestRequest& request, std::string location_path = "/") {
    exchanges.push_back(std::make_unique<FakeExchange>(request.get()));
    FakeExchange& ex = *exchanges.back();
    ex.location_config().path = std::move(location_path);
    module.handle(ex, conf);
    return ex;
  }
  Response& get(const std::string& target) {
    requests.push_back(std::make_unique<TestRequest>("GET", target));
    return run(*requests.back()).response();
  }

  TempDir dir;
  StaticModule module;
  StaticConf conf;
  std::vector<std::unique_ptr<TestRequest>> requests;
  std::vector<std::unique_ptr<FakeExchange>> exchanges;
};

std::vector<std::string> header_lines(const Response& r) {
  std::vector<std::string> out;
  for (const auto& h : r.headers) out.push_back(h.name + ": " + h.value);
  return out;
}

BOOST_AUTO_TEST_SUITE(static_module)

BOOST_AUTO_TEST_CASE(serves_a_file_with_validators) {
  Site site;
  Response& r = site.get("/index.html");
  BOOST_TEST(r.status == 200);
  const std::vector<std::string> expected = {
      "Content-Type: text/html",
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT",
      "ETag: \"2ebc98a1-e\"",
      "Accept-Ranges: bytes",
  };
  BOOST_TEST(header_lines(r) == expected, boost::test_tools::per_element());
  BOOST_TEST(r.file_offset == 0u);
  BOOST_TEST(r.file_length == kIndex.size());
  BOOST_TEST(r.body_length() == kIndex.size());
  BOOST_TEST(read_body_file(r) == kIndex);
}

BOOST_AUTO_TEST_CASE(content_type_by_extension_or_default_type) {
  Site site;
  BOOST_TEST(header_or_absent(site.get("/style.css"), "Content-Type") == "text/css");
  BOOST_TEST(header_or_absent(site.get("/blob.bin"), "Content-Type") == "application/octet-stream");
  site.conf.default_type = "text/plain";
  BOOST_TEST(header_or_absent(site.get("/blob.bin"), "Content-Type") == "text/plain");
}

BOOST_AUTO_TEST_CASE(head_gets_the_same_head_and_length) {
  Site site;
  TestRequest req("HEAD", "/style.css");
  Response& r = site.run(req).response();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/css");
  BOOST_TEST(header_or_absent(r, "ETag") == "\"2ebc98a1-17\"");
  // The core drops the body of a HEAD response but sends its Content-Length.
  BOOST_TEST(r.body_length() == kCss.size());
}

BOOST_AUTO_TEST_CASE(empty_file) {
  Site site;
  Response& r = site.get("/empty.txt");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body_length() == 0u);
  BOOST_TEST(header_or_absent(r, "ETag") == "\"2ebc98a1-0\"");
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/plain");
}

BOOST_AUTO_TEST_CASE(not_modified_by_etag) {
  Site site;
  TestRequest req("GET", "/index.html");
  req.header("If-None-Match", "\"nope\", \"2ebc98a1-e\"");
  Response& r = site.run(req).response();
  BOOST_TEST(r.status == 304);
  const std::vector<std::string> expected = {
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT",
      "ETag: \"2ebc98a1-e\"",
  };
  BOOST_TEST(header_lines(r) == expected, boost::test_tools::per_element());
  BOOST_TEST(!r.file);
  BOOST_TEST(r.body.empty());
}

BOOST_AUTO_TEST_CASE(not_modified_by_date) {
  Site site;
  TestRequest same("GET", "/index.html");
  same.header("If-Modified-Since", kLastModified);
  BOOST_TEST(site.run(same).response().status == 304);

  TestRequest older("GET", "/index.html");
  older.header("If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT");
  BOOST_TEST(site.run(older).response().status == 200);

  // A tag that no longer matches wins over a date that would.
  TestRequest both("GET", "/index.html");
  both.header("If-None-Match", "\"old\"").header("If-Modified-Since", kLastModified);
  BOOST_TEST(site.run(both).response().status == 200);
}

BOOST_AUTO_TEST_CASE(precondition_failed) {
  Site site;
  TestRequest req("GET", "/index.html");
  req.header("If-Match", "\"old\"");
  Response& r = site.run(req).response();
  BOOST_TEST(r.status == 412);
  BOOST_TEST(!r.file);
}

BOOST_AUTO_TEST_CASE(range_sends_exact_bytes) {
  Site site;
  TestRequest req("GET", "/digits.txt");
  req.header("Range", "bytes=10-15");
  Response& r = site.run(req).response();
  BOOST_TEST(r.status == 206);
  BOOST_TEST(header_or_absent(r, "Content-Range") == "bytes 10-15/36");
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/plain");
  BOOST_TEST(header_or_absent(r, "ETag") == "\"2ebc98a1-24\"");
  BOOST_TEST(r.file_offset == 10u);
  BOOST_TEST(r.file_length == 6u);
  BOOST_TEST(read_body_file(r) == "abcdef");
}

BOOST_AUTO_TEST_CASE(suffix_and_open_ranges) {
  Site site;
  TestRequest suffix("GET", "/digits.txt");
  suffix.header("Range", "bytes=-4");
  Response& s = site.run(suffix).response();
  BOOST_TEST(s.status == 206);
  BOOST_TEST(header_or_absent(s, "Content-Range") == "bytes 32-35/36");
  BOOST_TEST(read_body_file(s) == "wxyz");

  TestRequest open("GET", "/digits.txt");
  open.header("Range", "bytes=30-100");
  Response& o = site.run(open).response();
  BOOST_TEST(o.status == 206);
  BOOST_TEST(header_or_absent(o, "Content-Range") == "bytes 30-35/36");
  BOOST_TEST(read_body_file(o) == "uvwxyz");
}

BOOST_AUTO_TEST_CASE(unsatisfiable_range) {
  Site site;
  TestRequest req("GET", "/digits.txt");
  req.header("Range", "bytes=36-");
  Response& r = site.run(req).response();
  BOOST_TEST(r.status == 416);
  BOOST_TEST(header_or_absent(r, "Content-Range") == "bytes */36");
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/html");
  BOOST_TEST(r.body == error_page_body(416));
  BOOST_TEST(!r.file);
}

BOOST_AUTO_TEST_CASE(ignored_ranges_send_everything) {
  Site site;
  for (const char* range : {"bytes=0-1,5-6", "bytes=5-1", "lines=1-2", "bytes=x"}) {
    BOOST_TEST_CONTEXT("Range: " << range) {
      TestRequest req("GET", "/digits.txt");
      req.header("Range", range);
      Response& r = site.run(req).response();
      BOOST_TEST(r.status == 200);
      BOOST_TEST(!r.headers.has("Content-Range"));
      BOOST_TEST(read_body_file(r) == kDigits);
    }
  }
  // Range is defined for GET only.
  TestRequest head("HEAD", "/digits.txt");
  head.header("Range", "bytes=0-1");
  Response& h = site.run(head).response();
  BOOST_TEST(h.status == 200);
  BOOST_TEST(h.body_length() == kDigits.size());
}

BOOST_AUTO_TEST_CASE(if_range) {
  Site site;
  TestRequest match("GET", "/digits.txt");
  match.header("Range", "bytes=0-1").header("If-Range", "\"2ebc98a1-24\"");
  Response& m = site.run(match).response();
  BOOST_TEST(m.status == 206);
  BOOST_TEST(read_body_file(m) == "01");

  TestRequest date("GET", "/digits.txt");
  date.header("Range", "bytes=0-1").header("If-Range", kLastModified);
  BOOST_TEST(site.run(date).response().status == 206);

  // The client's copy is stale: it gets the whole new representation instead of a piece.
  TestRequest stale("GET", "/digits.txt");
  stale.header("Range", "bytes=0-1").header("If-Range", "\"2ebc98a1-23\"");
  Response& s = site.run(stale).response();
  BOOST_TEST(s.status == 200);
  BOOST_TEST(read_body_file(s) == kDigits);

  // Even an unsatisfiable range is not an error when If-Range does not match.
  TestRequest stale416("GET", "/digits.txt");
  stale416.header("Range", "bytes=100-").header("If-Range", "Mon, 07 Nov 1994 08:49:37 GMT");
  BOOST_TEST(site.run(stale416).response().status == 200);
}

BOOST_AUTO_TEST_CASE(missing_files) {
  Site site;
  Response& r = site.get("/nope.html");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.body == error_page_body(404));
  BOOST_TEST(site.get("/index.html/x").status == 404);               // ENOTDIR
  BOOST_TEST(site.get("/" + std::string(5000, 'a')).status == 404);  // ENAMETOOLONG
}

BOOST_AUTO_TEST_CASE(unreadable_file_is_forbidden) {
  Site site;
  site.dir.write("secret.txt", "s", kMtime);
  ::chmod((site.dir.path() / "secret.txt").c_str(), 0);
  if (::geteuid() == 0) {
    // root reads anything: the errno mapping is covered in file_path_test instead.
    BOOST_TEST(site.get("/secret.txt").status == 200);
  } else {
    BOOST_TEST(site.get("/secret.txt").status == 403);
  }
}

BOOST_AUTO_TEST_CASE(special_files_are_not_served) {
  Site site;
  BOOST_REQUIRE_EQUAL(::mkfifo((site.dir.path() / "pipe").c_str(), 0644), 0);
  // Would block forever without O_NONBLOCK.
  BOOST_TEST(site.get("/pipe").status == 404);
}

BOOST_AUTO_TEST_CASE(methods_other_than_get_and_head) {
  Site site;
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    BOOST_TEST_CONTEXT(method) {
      TestRequest req(method, "/index.html");
      Response& r = site.run(req).response();
      BOOST_TEST(r.status == 405);
      BOOST_TEST(header_or_absent(r, "Allow") == "GET, HEAD");
      BOOST_TEST(r.body == error_page_body(405));
    }
  }
}

BOOST_AUTO_TEST_CASE(directory_without_slash_redirects) {
  Site site;
  Response& r = site.get("/docs");
  BOOST_TEST(r.status == 301);
  BOOST_TEST(header_or_absent(r, "Location") == "/docs/");
  BOOST_TEST(r.body == error_page_body(301));

  Response& q = site.get("/docs?lang=en");
  BOOST_TEST(q.status == 301);
  BOOST_TEST(header_or_absent(q, "Location") == "/docs/?lang=en");
}

BOOST_AUTO_TEST_CASE(directory_serves_its_index) {
  Site site;
  Response& root = site.get("/");
  BOOST_TEST(root.status == 200);
  BOOST_TEST(read_body_file(root) == kIndex);
  BOOST_TEST(header_or_absent(root, "Content-Type") == "text/html");

  // Index names are tried in order; the type comes from the index file's name.
  site.conf.index = {"missing.html", "index.htm"};
  Response& docs = site.get("/docs/");
  BOOST_TEST(docs.status == 200);
  BOOST_TEST(read_body_file(docs) == "docs\n");
  BOOST_TEST(header_or_absent(docs, "Content-Type") == "text/html");
}

BOOST_AUTO_TEST_CASE(index_file_honours_conditionals) {
  Site site;
  TestRequest req("GET", "/");
  req.header("If-None-Match", "\"2ebc98a1-e\"");
  BOOST_TEST(site.run(req).response().status == 304);
}

BOOST_AUTO_TEST_CASE(directory_without_index_is_forbidden) {
  Site site;
  Response& r = site.get("/noindex/");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body == error_page_body(403));
  site.conf.index.clear();
  BOOST_TEST(site.get("/").status == 403);
}

BOOST_AUTO_TEST_CASE(alias_replaces_the_location_prefix) {
  Site site;
  site.conf.root.reset();
  site.conf.alias = (site.dir.path() / "images").string() + "/";
  TestRequest req("GET", "/img/a.png");
  Response& r = site.run(req, "/img/").response();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(header_or_absent(r, "Content-Type") == "image/png");
  BOOST_TEST(read_body_file(r) == "PNG!");

  // "/img/a.png" under root would be <root>/img/a.png, which does not exist.
  TestRequest missing("GET", "/img/index.html");
  BOOST_TEST(site.run(missing, "/img/").response().status == 404);
}

BOOST_AUTO_TEST_CASE(traversal_is_refused_before_opening_anything) {
  Site site;
  // Paths the core would never produce, passed as if it had a bug.
  for (const char* path : {"/../etc/passwd", "/docs/../../etc/passwd", "/..\\etc"}) {
    BOOST_TEST_CONTEXT(path) {
      TestRequest req("GET", "/x");
      req.set_path(path);
      Response& r = site.run(req).response();
      BOOST_TEST(r.status == 400);
      BOOST_TEST(!r.file);
    }
  }
  TestRequest nul("GET", "/x");
  nul.set_path(std::string("/index.html\0.png", 16));
  BOOST_TEST(site.run(nul).response().status == 400);

  site.conf.root.reset();
  site.conf.alias = (site.dir.path() / "images").string() + "/";
  TestRequest climb("GET", "/img../index.html");
  BOOST_TEST(site.run(climb, "/img").response().status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
