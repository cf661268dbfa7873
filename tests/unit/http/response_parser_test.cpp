#include "http/response_parser.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using serverd::ResponseParser;
using Event = ResponseParser::Event;

namespace {

// What a caller sees when it feeds `input` in pieces of `chunk` bytes, feeding unconsumed bytes
// again as the proxy does.
struct Run {
  std::vector<Event> events;  // need_more left out
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::uint64_t> length;
  std::string body;
  std::size_t end = 0;  // offset just past the last consumed byte
  bool keep_alive = false;
  std::string error;
};

Run parse(std::string_view input, std::size_t chunk, bool head_request = false,
          bool upgrade_request = false, bool eof = false) {
  Run run;
  ResponseParser parser;
  parser.start(head_request, upgrade_request);
  std::size_t fed = 0;  // bytes handed to the parser so far (a window of `chunk` bytes)
  std::size_t pos = 0;
  bool stop = false;
  bool need_more = false;
  for (int guard = 0; !stop && guard < 100000; ++guard) {
    // After an event the rest is fed again even when empty: the event may be followed by
    // another that needs no more bytes (a head with no body completes the message).
    if (need_more && pos == fed) {
      if (fed == input.size()) break;
      fed = std::min(input.size(), fed + chunk);
    }
    const auto r = parser.feed(input.substr(pos, fed - pos));
    pos += r.consumed;
    need_more = r.event == Event::need_more;
    switch (r.event) {
      case Event::need_more:
        break;
      case Event::head:
        run.events.push_back(r.event);
        run.status = parser.status();
        for (const auto& h : parser.headers()) run.headers.emplace_back(h.name, h.value);
        run.length = parser.body_length();
        break;
      case Event::body:
        run.events.push_back(r.event);
        run.body.append(r.body);
        break;
      case Event::complete:
      case Event::upgrade:
        run.events.push_back(r.event);
        run.keep_alive = parser.keep_alive();
        stop = true;
        break;
      case Event::error:
        run.events.push_back(r.event);
        run.error = std::string(parser.error_reason());
        stop = true;
        break;
    }
  }
  if (!stop && eof && parser.finish()) run.events.push_back(Event::complete);
  run.end = pos;
  return run;
}

bool has(const Run& r, Event e) {
  for (Event x : r.events)
    if (x == e) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_parser)

BOOST_AUTO_TEST_CASE(content_length_body_in_any_split) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain  \r\nContent-Length: 11\r\n\r\nhello world"
      "HTTP/1.1 204 No Content\r\n\r\n";
  for (std::size_t chunk : {1u, 2u, 7u, 64u, 4096u}) {
    BOOST_TEST_CONTEXT("chunk " << chunk) {
      const Run r = parse(in, chunk);
      BOOST_TEST(r.status == 200);
      BOOST_REQUIRE(r.length.has_value());
      BOOST_TEST(*r.length == 11u);
      BOOST_TEST(r.body == "hello world");
      BOOST_REQUIRE(!r.events.empty());
      BOOST_TEST((r.events.front() == Event::head));
      BOOST_TEST((r.events.back() == Event::complete));
      BOOST_TEST(r.keep_alive);
      // Stops at the end of the message: the next response is left for later.
      BOOST_TEST(r.end == in.find("HTTP/1.1 204"));
      BOOST_REQUIRE(r.headers.size() == 2u);
      BOOST_TEST(r.headers[0].first == "Content-Type");
      BOOST_TEST(r.headers[0].second == "text/plain");  // trailing whitespace trimmed
    }
  }
}

BOOST_AUTO_TEST_CASE(chunked_body_is_dechunked_and_has_no_known_length) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (std::size_t chunk : {1u, 3u, 4096u}) {
    BOOST_TEST_CONTEXT("chunk " << chunk) {
      const Run r = parse(in, chunk);
      BOOST_TEST(!r.length.has_value());
      BOOST_TEST(r.body == "hello world");
      BOOST_TEST((r.events.back() == Event::complete));
      BOOST_TEST(r.end == in.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(head_response_has_no_body_whatever_its_headers_say) {
  const std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  const Run r = parse(in, 4096, /*head_request=*/true);
  BOOST_TEST(r.status == 200);
  BOOST_REQUIRE(r.length.has_value());
  BOOST_TEST(*r.length == 1000u);  // the length the client is told
  BOOST_TEST(r.body.empty());
  BOOST_TEST((r.events.back() == Event::complete));
  BOOST_TEST(r.end == in.size());

  const Run no_length = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 4096, true);
  BOOST_REQUIRE(no_length.length.has_value());
  BOOST_TEST(*no_length.length == 0u);
}

BOOST_AUTO_TEST_CASE(no_body_statuses_have_length_zero) {
  for (const char* in : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n"}) {
    const Run r = parse(in, 4096);
    BOOST_REQUIRE(r.length.has_value());
    BOOST_TEST(*r.length == 0u);
    BOOST_TEST((r.events.back() == Event::complete));
  }
}

BOOST_AUTO_TEST_CASE(interim_responses_are_skipped) {
  const std::string in =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  for (std::size_t chunk : {1u, 4096u}) {
    const Run r = parse(in, chunk);
    BOOST_TEST(r.status == 201);
    BOOST_REQUIRE(r.headers.size() == 1u);  // the 103's Link is not the final head's
    BOOST_TEST(r.headers[0].first == "Content-Length");
    BOOST_TEST(r.body == "ok");
    BOOST_TEST(std::count(r.events.begin(), r.events.end(), Event::head) == 1);
  }
}

BOOST_AUTO_TEST_CASE(body_until_close_ends_with_finish) {
  const std::string in = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
  const Run open = parse(in, 5);
  BOOST_TEST(!has(open, Event::complete));
  BOOST_TEST(open.body == "until the end");
  BOOST_TEST(!open.length.has_value());
  const Run closed = parse(in, 5, false, false, /*eof=*/true);
  BOOST_TEST((closed.events.back() == Event::complete));
  BOOST_TEST(!closed.keep_alive);
}

BOOST_AUTO_TEST_CASE(switching_protocols_only_for_an_upgrade_request) {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
      "\x81\x02hi";
  const Run up = parse(in, 4096, false, /*upgrade_request=*/true);
  BOOST_TEST(!has(up, Event::head));
  BOOST_TEST((up.events.back() == Event::upgrade));
  BOOST_TEST(up.end == in.find("\x81"));  // the rest is the other protocol's
  const Run refused = parse(in, 4096, false, false);
  BOOST_TEST((refused.events.back() == Event::error));
}

BOOST_AUTO_TEST_CASE(malformed_responses_are_errors) {
  for (const char* in : {"HTTP/1.1 2x0 OK\r\n\r\n", "garbage\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    BOOST_TEST_CONTEXT(in) {
      const Run r = parse(in, 4096);
      BOOST_TEST((r.events.back() == Event::error));
      BOOST_TEST(!r.error.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(start_resets_for_the_next_response) {
  ResponseParser parser;
  parser.start(false, false);
  auto r = parser.feed("HTTP/1.1 500 Oops\r\nX: y\r\nContent-Length: 0\r\n\r\n");
  BOOST_TEST((r.event == Event::head));
  parser.start(false, false);
  r = parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  BOOST_TEST((r.event == Event::head));
  BOOST_TEST(parser.status() == 200);
  BOOST_TEST(parser.headers().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
