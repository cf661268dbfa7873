// libFuzzer target: client request bytes through the RequestParser exactly as a connection
// feeds them (in pieces, pipelined requests one after another, body sink and body limit set
// after the head). Beyond "no crash": the framing rules a proxy relies on must hold for every
// request the parser accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/request.hpp"
#include "http/request_parser.hpp"

using serverd::fuzz::require;

namespace {

class CountingSink final : public serverd::BodySink {
 public:
  void on_body(std::string_view chunk) override { bytes += chunk.size(); }
  std::uint64_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the piece size, as TCP would split the stream.
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  serverd::RequestParser::Limits limits;
  limits.max_uri_length = 2048;
  limits.max_header_size = 4096;
  constexpr std::uint64_t kMaxBody = 64 * 1024;

  serverd::Request request;
  serverd::RequestParser parser;
  CountingSink sink;
  parser.start(&request, limits);
  std::size_t pos = 0;
  int requests = 0;
  for (std::size_t iter = 0; pos < input.size() && iter < 8 * input.size() + 16; ++iter) {
    const std::string_view chunk = input.substr(pos, std::min(piece, input.size() - pos));
    const auto result = parser.feed(chunk);
    require(result.consumed <= chunk.size(), "consumed more than it was given");
    pos += result.consumed;
    using Status = serverd::RequestParser::Status;
    if (result.status == Status::error) {
      const int status = parser.error_status();
      require(status >= 400 && status <= 505, "an error without a 4xx/5xx status");
      break;
    }
    if (result.status == Status::headers_complete) {
      // Request smuggling: a message framed both ways, or a body on a request the parser
      // cannot frame, must never get past the head.
      require(!(request.chunked() && request.content_length().has_value()),
              "accepted Content-Length together with Transfer-Encoding: chunked");
      require(!request.method().empty(), "a request without a method");
      require(request.version_major() == 1, "accepted a version other than HTTP/1.x");
      parser.set_body_sink(&sink);
      parser.set_max_body_size(kMaxBody);
    } else if (result.status == Status::message_complete) {
      require(parser.head_complete(), "a message completed without a head");
      require(parser.body_bytes() <= kMaxBody, "a body beyond the limit was accepted");
      if (auto length = request.content_length())
        require(parser.body_bytes() == *length, "body length differs from Content-Length");
      if (++requests >= 16) break;
      request.reset();
      sink.bytes = 0;
      parser.start(&request, limits);  // the next pipelined request
    } else {
      require(result.consumed == chunk.size(), "need_more left input unconsumed");
    }
  }
  return 0;
}
