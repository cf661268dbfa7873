#include "modules/static/file_path.hpp"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>

namespace serverd {
namespace {

using namespace std::string_literals;

// "<status>:<path>" so one comparison shows both.
std::string show(const MappedPath& m) {
  return std::to_string(m.status) + ":" + m.path;
}

BOOST_AUTO_TEST_SUITE(static_file_path)

BOOST_AUTO_TEST_CASE(root_mapping) {
  BOOST_TEST(show(map_root_path("/srv/www", "/")) == "0:/srv/www/");
  BOOST_TEST(show(map_root_path("/srv/www", "/a/b.html")) == "0:/srv/www/a/b.html");
  BOOST_TEST(show(map_root_path("/srv/www", "/a b/%2e%2e")) == "0:/srv/www/a b/%2e%2e");
  BOOST_TEST(show(map_root_path("", "/etc/hosts")) == "0:/etc/hosts");  // root = "/"
  // Names that merely contain dots are fine.
  BOOST_TEST(show(map_root_path("/r", "/..foo/bar..")) == "0:/r/..foo/bar..");
  BOOST_TEST(show(map_root_path("/r", "/.well-known/x")) == "0:/r/.well-known/x");
}

BOOST_AUTO_TEST_CASE(alias_mapping) {
  BOOST_TEST(show(map_alias_path("/data/images/", "/img/", "/img/a.png")) ==
             "0:/data/images/a.png");
  BOOST_TEST(show(map_alias_path("/data/images/", "/img/", "/img/")) == "0:/data/images/");
  BOOST_TEST(show(map_alias_path("/data/images", "/img", "/img/x/y.css")) ==
             "0:/data/images/x/y.css");
  BOOST_TEST(show(map_alias_path("/data/f.ico", "/favicon.ico", "/favicon.ico")) ==
             "0:/data/f.ico");
  // Not under the location at all (cannot happen when routed by prefix): nothing to serve.
  BOOST_TEST(show(map_alias_path("/data/", "/img/", "/other")) == "404:");
}

BOOST_AUTO_TEST_CASE(traversal_is_refused) {
  for (const std::string& path :
       {"/.."s, "/../etc/passwd"s, "/a/../../etc/passwd"s, "/a/.."s, "/a/..\\..\\etc"s,
        "/a\\..\\b"s, "/..\\"s, "/x\0y"s, "/index.html\0.png"s, "relative"s, ""s}) {
    BOOST_TEST_CONTEXT("path " << path) {
      BOOST_TEST(!is_safe_request_path(path));
      BOOST_TEST(show(map_root_path("/srv/www", path)) == "400:");
      BOOST_TEST(show(map_alias_path("/data/", "/", path)) == "400:");
    }
  }
}

BOOST_AUTO_TEST_CASE(alias_without_slash_cannot_climb_out) {
  // nginx's classic misconfiguration: location "/img" + alias "/data/images/" turned
  // "/img../secret" into "/data/images/../secret".
  BOOST_TEST(show(map_alias_path("/data/images/", "/img", "/img../secret")) == "400:");
  BOOST_TEST(show(map_alias_path("/data/images/", "/img", "/img..")) == "400:");
  // Without the slash on the alias the joined name is just an odd file name inside /data.
  BOOST_TEST(show(map_alias_path("/data/images", "/img", "/img../x")) == "0:/data/images../x");
}

BOOST_AUTO_TEST_CASE(alias_may_itself_be_relative_with_dotdot) {
  // The configured part is trusted (it is normalised at load time); only the request's part is
  // checked.
  BOOST_TEST(show(map_alias_path("../shared/", "/s/", "/s/a.txt")) == "0:../shared/a.txt");
}

BOOST_AUTO_TEST_CASE(open_errors) {
  BOOST_TEST(status_for_open_error(ENOENT) == 404);
  BOOST_TEST(status_for_open_error(ENOTDIR) == 404);
  BOOST_TEST(status_for_open_error(ENAMETOOLONG) == 404);
  BOOST_TEST(status_for_open_error(EACCES) == 403);
  BOOST_TEST(status_for_open_error(EIO) == 500);
  BOOST_TEST(status_for_open_error(EMFILE) == 500);
}

BOOST_AUTO_TEST_CASE(location_encoding) {
  BOOST_TEST(encode_uri_path("/a/b-c_d.e~f") == "/a/b-c_d.e~f");
  BOOST_TEST(encode_uri_path("/a b/ü") == "/a%20b/%C3%BC");
  BOOST_TEST(encode_uri_path("/x\r\nSet-Cookie: a=b") == "/x%0D%0ASet-Cookie:%20a=b");
  BOOST_TEST(encode_uri_path("/100%?#") == "/100%25%3F%23");
  BOOST_TEST(directory_redirect_location("/docs", "") == "/docs/");
  BOOST_TEST(directory_redirect_location("/my docs", "a=1&b=%20") == "/my%20docs/?a=1&b=%20");
  BOOST_TEST(directory_redirect_location("/d", "a\r\nb") == "/d/?a%0D%0Ab");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
