// Configs that mean what they say: regex, ".suffix" and trailing-wildcard server names route
// (with $1.. captures), add_header of Content-Type or Server replaces the built-in header, and
// `charset` adds "; charset=..." to text types once.
#include <boost/test/unit_test.hpp>
#include <string>

#include "../harness/process_runner.hpp"
#include "../harness/test_server.hpp"

namespace it = serverd::itest;

namespace {

std::string named_server(const std::string& names, const std::string& body) {
  return "[[server]]\n"
         "listen = [\"127.0.0.1:{PORT}\"]\n"
         "server_name = " +
         names +
         "\n"
         "  [[server.location]]\n"
         "  path = \"/\"\n"
         "  return = { status = 200, body = \"" +
         body + "\" }\n\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_meaning_names_headers)

BOOST_AUTO_TEST_CASE(regex_suffix_and_trailing_server_names_route_with_captures) {
  const std::string config =
      it::config_prelude() + named_server(R"(["default.test"])", "default") +
      named_server(R"([".example.org"])", "suffix") +
      named_server(R"(["www.shop.*"])", "trailing") +
      named_server(R"(["~^api\\.(\\w+)\\.(test|local)$"])", "api $1 $2 $3|$1st");
  it::TestServer server(config);
  BOOST_TEST(server.get("/", "example.org").body == "suffix");
  BOOST_TEST(server.get("/", "a.b.example.org").body == "suffix");
  BOOST_TEST(server.get("/", "www.shop.co.uk").body == "trailing");
  BOOST_TEST(server.get("/", "api.eu.test").body == "api eu test |eust");
  BOOST_TEST(server.get("/", "api.eu.other").body == "default");
}

BOOST_AUTO_TEST_CASE(invalid_server_names_fail_the_check_at_their_position) {
  it::TempDir dir;
  const auto path = dir.write("s.toml",
                              "[[server]]\nlisten = \"127.0.0.1:1\"\n"
                              "server_name = [\"ok.test\", \"~^api(\"]\n");
  const auto r = it::run_serverd({"-t", "-c", path.string()});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.err.find(path.string() + ":3:27: invalid server_name regex \"~^api(\"") !=
                 std::string::npos,
             r.err);
}

BOOST_AUTO_TEST_CASE(content_type_and_server_headers_replace_the_builtin_ones) {
  const std::string locations =
      "  [[server.location]]\n"
      "  path = \"/r\"\n"
      "  return = { status = 200, body = \"x\", content_type = \"text/plain\" }\n"
      "  add_header = { Content-Type = \"text/plain; charset=koi8-r\", Server = \"edge\" }\n";
  it::TestServer server(it::simple_config("", locations),
                        [](const it::TempDir& d) { d.write("html/a.html", "<p>a</p>\n"); });
  const it::Response r = server.get("/r");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header_count("Content-Type") == 1U, r.raw_head);
  BOOST_TEST(r.header("Content-Type").value_or("") == "text/plain; charset=koi8-r");
  BOOST_TEST(r.header_count("Server") == 1U, r.raw_head);
  BOOST_TEST(r.header("Server").value_or("") == "edge");
  const it::Response plain = server.get("/a.html");
  BOOST_TEST(plain.header("Server").value_or("") == "serverd");
  BOOST_TEST(plain.header("Content-Type").value_or("") == "text/html");
}

BOOST_AUTO_TEST_CASE(charset_is_added_to_text_types_once) {
  const std::string locations =
      "  [[server.location]]\n"
      "  path = \"/has\"\n"
      "  return = { status = 200, body = \"x\", content_type = \"text/plain; charset=latin1\" }\n"
      "\n"
      "  [[server.location]]\n"
      "  path = \"/json\"\n"
      "  return = { status = 200, body = \"{}\", content_type = \"application/json\" }\n"
      "\n"
      "  [[server.location]]\n"
      "  path = \"/typed\"\n"
      "  return = { status = 200, body = \"{}\", content_type = \"application/json\" }\n"
      "  charset_types = [\"application/json\"]\n"
      "\n"
      "  [[server.location]]\n"
      "  path = \"/off/\"\n"
      "  root = \"html\"\n"
      "  charset = \"off\"\n";
  it::TestServer server(it::simple_config("charset = \"utf-8\"\n", locations),
                        [](const it::TempDir& d) {
                          d.write("html/a.html", "<p>a</p>\n");
                          d.write("html/off/b.html", "<p>b</p>\n");
                        });
  BOOST_TEST(server.get("/a.html").header("Content-Type").value_or("") ==
             "text/html; charset=utf-8");
  BOOST_TEST(server.get("/has").header("Content-Type").value_or("") ==
             "text/plain; charset=latin1");
  BOOST_TEST(server.get("/json").header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(server.get("/typed").header("Content-Type").value_or("") ==
             "application/json; charset=utf-8");
  BOOST_TEST(server.get("/off/b.html").header("Content-Type").value_or("") == "text/html");
  const auto dump = it::run_serverd({"-T", "-c", server.config_path().string()});
  BOOST_TEST(dump.exit_code == 0, dump.err);
  BOOST_TEST(dump.out.find("charset = \"utf-8\"") != std::string::npos, dump.out);
  BOOST_TEST(dump.out.find("charset = \"off\"") != std::string::npos, dump.out);
  BOOST_TEST(dump.out.find("charset_types = [\"application/json\"]") != std::string::npos,
             dump.out);
}

BOOST_AUTO_TEST_SUITE_END()
