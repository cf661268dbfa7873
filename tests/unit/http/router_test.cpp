#include "http/router.hpp"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/config.hpp"

using serverd::Config;
using serverd::ListenConfig;
using serverd::LocationConfig;
using serverd::LocationIndex;
using serverd::MatchKind;
using serverd::Router;
using serverd::ServerConfig;
using serverd::ServerIndex;
using serverd::SocketAddress;

namespace {

SocketAddress addr(const std::string& text) {
  std::string err;
  auto a = serverd::parse_listen_address(text, &err);
  BOOST_TEST_REQUIRE(a.has_value(), "parse_listen_address(" << text << "): " << err);
  return *a;
}

ListenConfig listen(const std::string& text, bool default_server = false) {
  ListenConfig l;
  l.text = text;
  l.address = addr(text);
  l.default_server = default_server;
  return l;
}

ServerConfig server(std::vector<ListenConfig> listens, std::vector<std::string> names) {
  ServerConfig s;
  s.listen = std::move(listens);
  s.server_names = std::move(names);
  return s;
}

LocationConfig location(const std::string& path, MatchKind match = MatchKind::prefix) {
  LocationConfig l;
  l.path = path;
  l.match = match;
  if (match == MatchKind::regex || match == MatchKind::regex_icase) {
    auto flags = std::regex::ECMAScript;
    if (match == MatchKind::regex_icase) flags |= std::regex::icase;
    l.regex = std::make_shared<const std::regex>(path, flags);
  }
  return l;
}

// The path of the location that answers, "<none>" for no match.
std::string answer(const LocationIndex& index, std::string_view path) {
  const LocationConfig* loc = index.match(path);
  return loc ? loc->path : "<none>";
}

// Which server (by its index in config.servers) a Host selects on an address.
int pick(const Router& router, const Config& config, const std::string& address,
         std::string_view host) {
  const ServerIndex* idx = router.servers_for(addr(address));
  BOOST_TEST_REQUIRE(idx != nullptr);
  const ServerConfig& s = idx->select(host);
  for (std::size_t i = 0; i < config.servers.size(); ++i)
    if (&config.servers[i] == &s) return static_cast<int>(i);
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router)

BOOST_AUTO_TEST_CASE(exact_and_wildcard_server_names) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"default.test"}));       // 0
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"www.example.com"}));    // 1
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"*.example.com"}));      // 2
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"*.api.example.com"}));  // 3
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"a.test", "b.test"}));   // 4
  Router r(c);
  const std::string a = "127.0.0.1:8080";
  BOOST_TEST(pick(r, c, a, "default.test") == 0);
  BOOST_TEST(pick(r, c, a, "www.example.com") == 1);  // exact beats a matching wildcard
  BOOST_TEST(pick(r, c, a, "a.example.com") == 2);
  BOOST_TEST(pick(r, c, a, "a.b.example.com") == 2);
  BOOST_TEST(pick(r, c, a, "v1.api.example.com") == 3);  // longest wildcard wins
  BOOST_TEST(pick(r, c, a, "x.v1.api.example.com") == 3);
  BOOST_TEST(pick(r, c, a, "api.example.com") == 2);  // "*.api..." needs a label before it
  BOOST_TEST(pick(r, c, a, "example.com") == 0);      // not matched by "*.example.com"
  BOOST_TEST(pick(r, c, a, ".example.com") == 0);
  BOOST_TEST(pick(r, c, a, "badexample.com") == 0);
  BOOST_TEST(pick(r, c, a, "a.example.com.evil") == 0);
  BOOST_TEST(pick(r, c, a, "a.test") == 4);
  BOOST_TEST(pick(r, c, a, "b.test") == 4);
  BOOST_TEST(pick(r, c, a, "c.test") == 0);
  BOOST_TEST(pick(r, c, a, "") == 0);  // HTTP/1.0 without Host
}

BOOST_AUTO_TEST_CASE(wildcard_order_in_file_does_not_matter) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"first.test"}));         // 0
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"*.api.example.com"}));  // 1
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"*.example.com"}));      // 2
  Router r(c);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "v1.api.example.com") == 1);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "www.example.com") == 2);
}

BOOST_AUTO_TEST_CASE(first_definition_of_a_name_wins) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"dup.test", "*.w.test"}));  // 0
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"dup.test", "*.w.test"}));  // 1
  Router r(c);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "dup.test") == 0);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "x.w.test") == 0);
}

BOOST_AUTO_TEST_CASE(default_server_is_first_unless_marked) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"one.test"}));        // 0
  c.servers.push_back(server({listen("127.0.0.1:8080", true)}, {"two.test"}));  // 1
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"three.test"}));      // 2
  Router r(c);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "unknown.test") == 1);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "") == 1);
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "one.test") == 0);

  Config d;
  d.servers.push_back(server({listen("127.0.0.1:8080")}, {"one.test"}));  // 0
  d.servers.push_back(server({listen("127.0.0.1:8080")}, {"two.test"}));  // 1
  Router rd(d);
  BOOST_TEST(pick(rd, d, "127.0.0.1:8080", "unknown.test") == 0);
}

BOOST_AUTO_TEST_CASE(each_address_has_its_own_index) {
  Config c;
  // 0 listens on both; 1 only on 8081 where it is the default; 2 only on [::1]:8080.
  c.servers.push_back(server({listen("127.0.0.1:8080"), listen("127.0.0.1:8081")}, {"both.test"}));
  c.servers.push_back(server({listen("127.0.0.1:8081", true)}, {"only81.test"}));
  c.servers.push_back(server({listen("[::1]:8080")}, {"v6.test"}));
  Router r(c);

  BOOST_REQUIRE_EQUAL(r.listeners().size(), 3u);
  BOOST_TEST(r.listeners()[0]->address.to_string() == "127.0.0.1:8080");
  BOOST_TEST(r.listeners()[1]->address.to_string() == "127.0.0.1:8081");
  BOOST_TEST(r.listeners()[2]->address.to_string() == "[::1]:8080");
  // The options come from the first listen entry of that address.
  BOOST_TEST(r.listeners()[1] == &c.servers[0].listen[1]);

  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "only81.test") == 0);  // name unknown on this address
  BOOST_TEST(pick(r, c, "127.0.0.1:8080", "anything") == 0);
  BOOST_TEST(pick(r, c, "127.0.0.1:8081", "only81.test") == 1);
  BOOST_TEST(pick(r, c, "127.0.0.1:8081", "both.test") == 0);
  BOOST_TEST(pick(r, c, "127.0.0.1:8081", "anything") == 1);
  BOOST_TEST(pick(r, c, "[::1]:8080", "both.test") == 2);
  BOOST_TEST(pick(r, c, "[::1]:8080", "v6.test") == 2);

  BOOST_TEST(r.servers_for(addr("127.0.0.1:9999")) == nullptr);
  BOOST_TEST(r.servers_for(addr("127.0.0.2:8080")) == nullptr);
}

BOOST_AUTO_TEST_CASE(locations_of_the_selected_server) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"a.test"}));
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"b.test"}));
  c.servers[0].locations.push_back(location("/a/"));
  c.servers[1].locations.push_back(location("/b/"));
  Router r(c);
  const ServerIndex* idx = r.servers_for(addr("127.0.0.1:8080"));
  BOOST_REQUIRE(idx);
  const ServerConfig& b = idx->select("b.test");
  BOOST_TEST(answer(idx->locations(b), "/b/x") == "/b/");
  BOOST_TEST(answer(idx->locations(b), "/a/x") == "<none>");
  const ServerConfig& a = idx->select("a.test");
  BOOST_TEST(answer(idx->locations(a), "/a/x") == "/a/");
  BOOST_TEST(answer(idx->locations(a), "/b/x") == "<none>");
}

BOOST_AUTO_TEST_CASE(location_precedence_like_nginx) {
  ServerConfig s;
  s.locations.push_back(location("/"));
  s.locations.push_back(location("/images/"));
  s.locations.push_back(location("/images/thumbs/"));
  s.locations.push_back(location("/static/", MatchKind::priority_prefix));
  s.locations.push_back(location("\\.php$", MatchKind::regex));
  s.locations.push_back(location("^/images/.*\\.(png|gif)$", MatchKind::regex));
  s.locations.push_back(location("\\.(png|jpg)$", MatchKind::regex));
  s.locations.push_back(location("/", MatchKind::exact));
  s.locations.push_back(location("/exact", MatchKind::exact));
  LocationIndex idx(s);

  // Exact beats everything, and only for exactly that path.
  BOOST_TEST(answer(idx, "/") == "/");
  BOOST_TEST((idx.match("/")->match == MatchKind::exact));
  BOOST_TEST((idx.match("/exact")->match == MatchKind::exact));
  BOOST_TEST((idx.match("/exact/")->match == MatchKind::prefix));
  BOOST_TEST((idx.match("/exactly")->match == MatchKind::prefix));
  // Longest prefix, when no regex matches.
  BOOST_TEST(answer(idx, "/index.html") == "/");
  BOOST_TEST((idx.match("/index.html")->match == MatchKind::prefix));
  BOOST_TEST(answer(idx, "/images/a.txt") == "/images/");
  BOOST_TEST(answer(idx, "/images/thumbs/a.txt") == "/images/thumbs/");
  BOOST_TEST(answer(idx, "/images") == "/");  // "/images/" is not a prefix of "/images"
  // A priority prefix that is the longest match stops the regex search.
  BOOST_TEST(answer(idx, "/static/a.php") == "/static/");
  BOOST_TEST(answer(idx, "/static/a.png") == "/static/");
  // Regexes beat plain prefixes, and the first matching one in file order wins.
  BOOST_TEST(answer(idx, "/images/a.png") == "^/images/.*\\.(png|gif)$");
  BOOST_TEST(answer(idx, "/images/a.jpg") == "\\.(png|jpg)$");
  BOOST_TEST(answer(idx, "/images/a.php") == "\\.php$");
  BOOST_TEST(answer(idx, "/x.png") == "\\.(png|jpg)$");
  BOOST_TEST(answer(idx, "/images/thumbs/t.gif") == "^/images/.*\\.(png|gif)$");
  // Case-sensitive regexes do not match other cases.
  BOOST_TEST(answer(idx, "/x.PNG") == "/");
  BOOST_TEST((idx.match("/x.PNG")->match == MatchKind::prefix));
}

BOOST_AUTO_TEST_CASE(priority_prefix_only_counts_when_longest) {
  // nginx: "^~" matters only if it is the longest matching prefix.
  ServerConfig s;
  s.locations.push_back(location("/static/", MatchKind::priority_prefix));
  s.locations.push_back(location("/static/js/"));
  s.locations.push_back(location("\\.js$", MatchKind::regex));
  LocationIndex idx(s);
  BOOST_TEST(answer(idx, "/static/js/app.js") == "\\.js$");
  BOOST_TEST(answer(idx, "/static/js/app.txt") == "/static/js/");
  BOOST_TEST(answer(idx, "/static/app.js") == "/static/");
}

BOOST_AUTO_TEST_CASE(regex_icase_and_regex_search_semantics) {
  ServerConfig s;
  s.locations.push_back(location("\\.JPG$", MatchKind::regex_icase));
  s.locations.push_back(location("^/API/", MatchKind::regex));
  s.locations.push_back(location("admin", MatchKind::regex));  // unanchored: anywhere in the path
  LocationIndex idx(s);
  BOOST_TEST(answer(idx, "/a.jpg") == "\\.JPG$");
  BOOST_TEST(answer(idx, "/a.JpG") == "\\.JPG$");
  BOOST_TEST(answer(idx, "/API/x") == "^/API/");
  BOOST_TEST(answer(idx, "/api/x") == "<none>");
  BOOST_TEST(answer(idx, "/x/admin/y") == "admin");
  // No location at all matches: nullptr (-> 404).
  BOOST_TEST(answer(idx, "/other") == "<none>");
  BOOST_TEST(idx.match("/other") == nullptr);
}

BOOST_AUTO_TEST_CASE(no_locations_match_nothing) {
  ServerConfig s;
  LocationIndex idx(s);
  BOOST_TEST(idx.match("/") == nullptr);
  ServerConfig t;
  t.locations.push_back(location("/only/"));
  t.locations.push_back(location("/x", MatchKind::exact));
  LocationIndex tidx(t);
  BOOST_TEST(tidx.match("/") == nullptr);
  BOOST_TEST(tidx.match("/only") == nullptr);
  BOOST_TEST(tidx.match("/x/") == nullptr);
  BOOST_TEST(answer(tidx, "/only/") == "/only/");
}

BOOST_AUTO_TEST_CASE(suffix_trailing_and_regex_names_in_nginx_precedence) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"default.test"}));              // 0
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {".example.org"}));              // 1
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"www.example.*"}));             // 2
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"~^api\\.(.+)$"}));             // 3
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"~^(www)\\.example\\.org$"}));  // 4
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"www.example.org.*"}));         // 5
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"~^api\\.first\\."}));          // 6
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"exact.example.org"}));         // 7
  Router r(c);
  const std::string a = "127.0.0.1:8080";
  // ".example.org" is "example.org" and "*.example.org".
  BOOST_TEST(pick(r, c, a, "example.org") == 1);
  BOOST_TEST(pick(r, c, a, "x.example.org") == 1);
  BOOST_TEST(pick(r, c, a, "x.y.example.org") == 1);
  BOOST_TEST(pick(r, c, a, "badexample.org") == 0);
  // Exact beats the leading wildcard; the leading wildcard beats trailing ones and regexes.
  BOOST_TEST(pick(r, c, a, "exact.example.org") == 7);
  BOOST_TEST(pick(r, c, a, "www.example.org") == 1);
  // Trailing wildcards: longest first; they need a label after the dot.
  BOOST_TEST(pick(r, c, a, "www.example.com") == 2);
  BOOST_TEST(pick(r, c, a, "www.example.co.uk") == 2);
  BOOST_TEST(pick(r, c, a, "www.example.org.uk") == 5);
  BOOST_TEST(pick(r, c, a, "www.example.") == 0);
  BOOST_TEST(pick(r, c, a, "www.example") == 0);
  // Regexes after the wildcards, in config order: the first match wins.
  BOOST_TEST(pick(r, c, a, "api.first.test") == 3);
  BOOST_TEST(pick(r, c, a, "api.shop.test") == 3);
  BOOST_TEST(pick(r, c, a, "xapi.shop.test") == 0);
}

BOOST_AUTO_TEST_CASE(regex_name_captures_are_returned) {
  Config c;
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"default.test"}));
  c.servers.push_back(server({listen("127.0.0.1:8080")}, {"~^(\\w+)\\.(\\w+)\\.test$"}));
  Router r(c);
  const ServerIndex* idx = r.servers_for(addr("127.0.0.1:8080"));
  BOOST_TEST_REQUIRE(idx != nullptr);
  std::vector<std::string> groups{"stale"};
  BOOST_TEST(&idx->select("shop.eu.test", &groups) == &c.servers[1]);
  const std::vector<std::string> expected{"shop.eu.test", "shop", "eu"};
  BOOST_TEST(groups == expected, boost::test_tools::per_element());
  BOOST_TEST(&idx->select("default.test", &groups) == &c.servers[0]);
  BOOST_TEST(groups.empty());  // no regex chose it: no stale captures
}

BOOST_AUTO_TEST_CASE(an_invalid_server_name_regex_throws) {
  BOOST_CHECK_THROW(serverd::compile_server_name_regex("^(api"), std::regex_error);
  BOOST_CHECK_NO_THROW(serverd::compile_server_name_regex("^api\\.(.+)$"));
}

BOOST_AUTO_TEST_SUITE_END()
