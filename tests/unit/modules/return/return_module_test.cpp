#include "modules/return/return_module.hpp"

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>

#include "../../tls/tls_pair.hpp"
#include "../module_test_support.hpp"
#include "core/config_loader.hpp"
#include "modules/modules.hpp"

namespace serverd {
namespace {

using test::configure_from;
using test::FakeExchange;
using test::header_or_absent;
using test::TestRequest;

const ReturnConf& as_return(const ModuleConfPtr& p) {
  BOOST_REQUIRE(p != nullptr);
  const auto* conf = dynamic_cast<const ReturnConf*>(p.get());
  BOOST_REQUIRE(conf != nullptr);
  return *conf;
}

// Configures from `text` (which must be valid) and answers `request`.
Response answer(std::string_view text, TestRequest& request) {
  ReturnModule m;
  auto r = configure_from(m, ConfigLevel::location, text, nullptr);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.error_text());
  BOOST_TEST_REQUIRE(m.handles(*r.conf));
  FakeExchange ex(request.get());
  m.handle(ex, *r.conf);
  return std::move(ex.response());
}

// Configures from `text` and answers `request` as if it came on a TLS connection.
Response answer_over_tls(std::string_view text, TestRequest& request) {
  test::TlsPair tls;
  request.get().set_tls(tls.server.get());
  Response r = answer(text, request);
  request.get().set_tls(nullptr);
  return r;
}

// The single error of configuring `text`.
ConfigError config_error(std::string_view text) {
  ReturnModule m;
  auto r = configure_from(m, ConfigLevel::location, text, nullptr);
  BOOST_REQUIRE_MESSAGE(r.errors.size() == 1u, "expected one error, got: " << r.error_text());
  return r.errors.items()[0];
}

std::string dump_text(std::string_view text) {
  ReturnModule m;
  auto r = configure_from(m, ConfigLevel::location, text, nullptr);
  BOOST_REQUIRE(r.errors.empty());
  toml::table out;
  m.dump(*r.conf, out);
  std::ostringstream os;
  os << out;
  return os.str();
}

BOOST_AUTO_TEST_SUITE(return_module)

BOOST_AUTO_TEST_CASE(status_only) {
  const ReturnModule m;
  auto r = configure_from(m, ConfigLevel::server, "return = 404", nullptr);
  BOOST_TEST_REQUIRE(r.errors.empty(), r.error_text());
  BOOST_TEST(as_return(r.conf).status == 404);
  BOOST_TEST(m.is_content_handler());
  BOOST_TEST(m.handles(*r.conf));
}

BOOST_AUTO_TEST_CASE(not_set_inherits) {
  const ReturnModule m;
  auto server = configure_from(m, ConfigLevel::server, "return = 403", nullptr);
  auto loc = configure_from(m, ConfigLevel::location, R"(root = "/x")", server.conf);
  BOOST_TEST(loc.conf == server.conf);
  auto none = configure_from(m, ConfigLevel::server, R"(root = "/x")", nullptr);
  BOOST_TEST(none.conf == nullptr);
}

BOOST_AUTO_TEST_CASE(error_status_gets_the_error_page) {
  TestRequest req("GET", "/gone");
  const Response r = answer("return = 410", req);
  BOOST_TEST(r.status == 410);
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/html");
  BOOST_TEST(r.body == error_page_body(410));
  BOOST_TEST(header_or_absent(r, "Location") == "<absent>");
}

BOOST_AUTO_TEST_CASE(success_status_without_body_is_empty) {
  TestRequest req("GET", "/ping");
  const Response r = answer("return = 204", req);
  BOOST_TEST(r.status == 204);
  BOOST_TEST(r.body.empty());
  BOOST_TEST(r.headers.empty());
}

BOOST_AUTO_TEST_CASE(redirect_with_variables) {
  TestRequest req("GET", "/old/page?x=1");
  req.set_host("example.com");
  const Response r =
      answer(R"(return = { status = 301, location = "https://$host$request_uri" })", req);
  BOOST_TEST(r.status == 301);
  BOOST_TEST(header_or_absent(r, "Location") == "https://example.com/old/page?x=1");
  BOOST_TEST(header_or_absent(r, "Content-Type") == "text/html");
  BOOST_TEST(r.body == error_page_body(301));
  BOOST_TEST(r.body.find("<h1>301 Moved Permanently</h1>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_redirect_status) {
  for (int status : {301, 302, 303, 307, 308}) {
    BOOST_TEST_CONTEXT(status) {
      TestRequest req("GET", "/a");
      const Response r = answer(
          "return = { status = " + std::to_string(status) + ", location = \"/new$uri\" }", req);
      BOOST_TEST(r.status == status);
      BOOST_TEST(header_or_absent(r, "Location") == "/new/a");
    }
  }
}

BOOST_AUTO_TEST_CASE(scheme_follows_the_connection) {
  // Issue 18: on a TLS connection this redirect used to downgrade the client to http://.
  const std::string text =
      R"(return = { status = 301, location = "$scheme://$host$request_uri", body = "$https" })";
  TestRequest req("GET", "/a?b=1");
  req.set_host("example.com");
  const Response tls = answer_over_tls(text, req);
  BOOST_TEST(header_or_absent(tls, "Location") == "https://example.com/a?b=1");
  BOOST_TEST(tls.body == "on");
  const Response plain = answer(text, req);
  BOOST_TEST(header_or_absent(plain, "Location") == "http://example.com/a?b=1");
  BOOST_TEST(plain.body.empty());
}

BOOST_AUTO_TEST_CASE(location_cannot_inject_headers) {
  // $uri is decoded: "%0D%0A" in the request became CR LF.
  TestRequest req("GET", "/x%0D%0ASet-Cookie:%20a=b");
  req.set_path("/x\r\nSet-Cookie: a=b");
  const Response r = answer(R"(return = { status = 302, location = "/new$uri" })", req);
  BOOST_TEST(header_or_absent(r, "Location") == "/new/x%0D%0ASet-Cookie:%20a=b");
}

BOOST_AUTO_TEST_CASE(body_with_default_and_explicit_type) {
  TestRequest req("GET", "/hello");
  const Response plain = answer(R"(return = { status = 200, body = "hello\n" })", req);
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(header_or_absent(plain, "Content-Type") == "text/plain");
  BOOST_TEST(plain.body == "hello\n");

  const Response json = answer(
      R"(return = { status = 503, body = "{\"uri\":\"$uri\"}", content_type = "application/json" })",
      req);
  BOOST_TEST(json.status == 503);
  BOOST_TEST(header_or_absent(json, "Content-Type") == "application/json");
  BOOST_TEST(json.body == R"({"uri":"/hello"})");
}

BOOST_AUTO_TEST_CASE(config_errors) {
  struct Case {
    const char* text;
    const char* message_part;
  };
  for (const Case& c : {
           Case{"return = 99", "100..599"},
           Case{"return = 600", "100..599"},
           Case{"return = 301", "needs a location"},
           Case{"return = { status = 302 }", "needs a `location`"},
           Case{"return = { location = \"/x\" }", "needs a `status`"},
           Case{"return = { status = 200, bdy = \"x\" }",
                "unknown key `bdy` in `return` (valid keys: status, location, body, "
                "content_type)"},
           Case{"return = { status = 200, content_type = \"text/plain\" }", "only used together"},
           Case{"return = { status = \"200\" }", "integer"},
           Case{"return = \"/x\"", "must be a status code or a table"},
           Case{"return = { status = 301, location = \"\" }", "non-empty"},
       }) {
    BOOST_TEST_CONTEXT(c.text) {
      const ConfigError e = config_error(c.text);
      BOOST_TEST(e.pos.line == 1);
      BOOST_TEST(e.message.find(c.message_part) != std::string::npos, e.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_position_points_at_the_value) {
  const ConfigError e = config_error("\n\nreturn = { status = 200, nope = 1 }");
  BOOST_TEST(e.pos.line == 3);
  BOOST_TEST(e.pos.col == 33);  // the value of `nope`
}

BOOST_AUTO_TEST_CASE(dump_round_trips) {
  BOOST_TEST(dump_text("return = 404") == "return = 404");
  BOOST_TEST(dump_text(R"(return = { status = 301, location = "https://$host$request_uri" })") ==
             "return = { location = 'https://$host$request_uri', status = 301 }");
  BOOST_TEST(dump_text(R"(return = { status = 200, body = "hi", content_type = "text/x" })") ==
             "return = { body = 'hi', content_type = 'text/x', status = 200 }");
}

BOOST_AUTO_TEST_CASE(loader_makes_return_the_handler_over_an_inherited_root) {
  const char* text = R"(
[[server]]
listen = ["127.0.0.1:8080"]
root = "html"
  [[server.location]]
  path = "/old"
  return = { status = 301, location = "/new" }
)";
  LoadResult r = load_config_text(text, "t.toml", "/etc/serverd", builtin_modules());
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.to_string());
  BOOST_TEST(r.config->servers.at(0).locations.at(0).handler ==
             builtin_modules().index_of("return"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
