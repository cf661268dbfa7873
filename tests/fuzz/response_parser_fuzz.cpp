// libFuzzer target: an upstream's bytes through the ResponseParser as the proxy feeds them
// (in pieces; after every event the rest is fed again). Beyond "no crash": a response the
// parser accepts has one framing, a known length is never exceeded, and nothing after the end
// of a message is taken as part of it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/header_list.hpp"
#include "http/response_parser.hpp"

using serverd::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: piece size (as reads split the stream), HEAD request, upgrade request.
  const std::size_t piece = 1 + (data[0] & 0x3f);
  const bool head_request = (data[0] & 0x40) != 0;
  const bool upgrade_request = (data[0] & 0x80) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  serverd::ResponseParser parser;
  parser.start(head_request, upgrade_request);
  using Event = serverd::ResponseParser::Event;
  bool head = false;
  bool done = false;
  std::uint64_t body = 0;
  std::size_t pos = 0;
  for (std::size_t iter = 0; iter < 8 * input.size() + 64 && !done; ++iter) {
    const std::string_view chunk = input.substr(pos, std::min(piece, input.size() - pos));
    const auto r = parser.feed(chunk);
    require(r.consumed <= chunk.size(), "consumed more than it was given");
    pos += r.consumed;
    switch (r.event) {
      case Event::need_more:
        require(r.consumed == chunk.size(), "need_more left input unconsumed");
        if (pos >= input.size()) {
          if (head && parser.finish()) require(!parser.body_length(), "ended early but complete");
          done = true;
        }
        break;
      case Event::head: {
        require(!head, "two final heads");
        head = true;
        require(parser.status() >= 200 && parser.status() <= 599, "a final status out of range");
        int lengths = 0;
        int codings = 0;
        for (const auto& h : parser.headers()) {
          lengths += serverd::iequals(h.name, "content-length") ? 1 : 0;
          codings += serverd::iequals(h.name, "transfer-encoding") ? 1 : 0;
          require(!h.name.empty(), "a header without a name was accepted");
        }
        // Two framings (CL and TE, or two lengths) are what response splitting is made of.
        require(lengths <= 1, "a head with two Content-Length headers was accepted");
        require(lengths == 0 || codings == 0, "Content-Length with Transfer-Encoding accepted");
        if (parser.status() == 204 || parser.status() == 304)
          require(parser.body_length() == 0U, "a 204 or 304 has a body length");
        break;
      }
      case Event::body:
        require(head, "body before the head");
        require(!head_request && parser.status() != 204 && parser.status() != 304,
                "a body in a response that has none");
        require(!r.body.empty(), "an empty body event");
        require(r.body.data() >= chunk.data() &&
                    r.body.data() + r.body.size() <= chunk.data() + chunk.size(),
                "a body span outside the input");
        body += r.body.size();
        if (auto length = parser.body_length())
          require(body <= *length, "more body than its length");
        break;
      case Event::complete:
        require(head, "a message complete without a head");
        if (auto length = parser.body_length(); length && !head_request)
          require(body == *length, "body length differs from its length");
        done = true;
        break;
      case Event::upgrade:
        require(upgrade_request, "switched protocols without an upgrade request");
        done = true;
        break;
      case Event::error:
        require(!parser.error_reason().empty(), "an error without a reason");
        done = true;
        break;
    }
  }
  return 0;
}
