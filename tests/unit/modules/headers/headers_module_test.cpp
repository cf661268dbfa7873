// add_header replacing Content-Type/Server, charset/charset_types, and $1..$9 from the
// server_name regex that selected the server.
#include "modules/headers/headers_module.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "../module_test_support.hpp"
#include "http/variables.hpp"

using namespace serverd;
using serverd::test::TestRequest;

namespace {

std::size_t count(const HeaderList& h, std::string_view name) {
  std::size_t n = 0;
  for (const auto& x : h) n += iequals(x.name, name) ? 1 : 0;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(headers_module)

BOOST_AUTO_TEST_CASE(content_type_and_server_replace_others_are_added) {
  HeadersConf conf;
  for (auto [name, value] : {std::pair{"Content-Type", "text/plain; charset=koi8-r"},
                             std::pair{"server", "edge"}, std::pair{"X-Two", "b"}})
    conf.headers.push_back({name, value, compile_template(value), false});
  TestRequest req;
  Response r;
  r.headers.add("Content-Type", "text/html");
  r.headers.add("X-Two", "a");
  add_configured_headers(conf, req.get(), r);
  BOOST_TEST(count(r.headers, "content-type") == 1U);
  BOOST_TEST(*r.headers.find("content-type") == "text/plain; charset=koi8-r");
  BOOST_TEST(count(r.headers, "server") == 1U);
  BOOST_TEST(count(r.headers, "x-two") == 2U);  // nginx adds, it does not replace, others
}

BOOST_AUTO_TEST_CASE(charset_applies_to_listed_types_once) {
  HeadersConf conf;
  conf.charset = "utf-8";
  auto with_type = [&](std::string type) {
    Response r;
    if (!type.empty()) r.headers.add("Content-Type", std::move(type));
    apply_charset(conf, r);
    const std::string* t = r.headers.find("content-type");
    return t ? *t : std::string("<none>");
  };
  BOOST_TEST(with_type("text/html") == "text/html; charset=utf-8");
  BOOST_TEST(with_type("TEXT/Plain") == "TEXT/Plain; charset=utf-8");
  BOOST_TEST(with_type("application/javascript") == "application/javascript; charset=utf-8");
  BOOST_TEST(with_type("text/html; Charset=latin1") == "text/html; Charset=latin1");
  BOOST_TEST(with_type("image/png") == "image/png");
  BOOST_TEST(with_type("") == "<none>");
  conf.charset_types = {"application/json"};
  BOOST_TEST(with_type("application/json") == "application/json; charset=utf-8");
  BOOST_TEST(with_type("text/html") == "text/html");
  conf.charset.clear();
  BOOST_TEST(with_type("application/json") == "application/json");
}

BOOST_AUTO_TEST_CASE(server_name_captures_expand_as_digits) {
  TestRequest req;
  req.get().server_name_captures_ = {"api.eu.test", "eu", "test"};
  BOOST_TEST(expand_variables("$1-$2-$3-${1}x-$1st-$0", req.get()) == "eu-test--eux-eust-$0");
  req.get().server_name_captures_.clear();
  BOOST_TEST(expand_variables("[$1]", req.get()) == "[]");
}

BOOST_AUTO_TEST_SUITE_END()
