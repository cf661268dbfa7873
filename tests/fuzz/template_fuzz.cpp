// libFuzzer target: the variables engine and the access-log format compiler. Input: a template,
// a NUL byte, then the raw bytes of a request. The template is compiled as `return`/`add_header`
// do (lenient) and as the access log does (strict), and evaluated against whatever request the
// parser made of the rest: a template never fails to expand, text without '$' expands to itself,
// and no access-log line gets a control byte (a forged line break) or invalid UTF-8 that its
// format did not write itself, whatever the request holds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/address.hpp"
#include "fuzz_check.hpp"
#include "http/exchange.hpp"
#include "http/request.hpp"
#include "http/request_parser.hpp"
#include "http/variables.hpp"
#include "modules/access_log/log_format.hpp"

using serverd::fuzz::require;

namespace {

const serverd::SocketAddress& address(const char* text) {
  static const serverd::SocketAddress peer =
      *serverd::parse_listen_address("127.0.0.2:4567", nullptr);
  static const serverd::SocketAddress local =
      *serverd::parse_listen_address("127.0.0.1:8080", nullptr);
  return text[0] == 'p' ? peer : local;
}

bool has_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

// Strict UTF-8 (no overlongs, surrogates or code points beyond U+10FFFF).
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view tmpl = input.substr(0, nul);
  const std::string_view raw =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

  serverd::Request request;
  request.set_addresses(&address("peer"), &address("local"));
  serverd::RequestParser parser;
  parser.start(&request, serverd::RequestParser::Limits{});
  parser.feed(raw);  // a partial or broken request is still a request to log
  request.set_addresses(&address("peer"), &address("local"));

  std::string out;
  const serverd::CompiledTemplate compiled = serverd::compile_template(tmpl);
  serverd::evaluate(compiled, serverd::VariableContext{request}, out);
  if (tmpl.find('$') == std::string_view::npos)
    require(out == tmpl, "a template without variables did not expand to itself", out);

  serverd::ExchangeLog log;
  log.status = 200;
  log.body_bytes_sent = raw.size();
  log.upstream_addr = std::string(tmpl.substr(0, 32));
  const serverd::LogContext ctx{
      request,
      log,
      {1'700'000'000'000, "14/Nov/2023:22:13:20 +0000", "2023-11-14T22:13:20+00:00"},
      5};
  serverd::LogFormatError error;
  if (auto format = serverd::compile_log_format(tmpl, &error)) {
    out.clear();
    serverd::render_log_line(*format, ctx, out);
    if (!has_control(tmpl))
      require(!has_control(out), "a request forged a control byte into the access log", out);
  } else {
    require(error.offset <= tmpl.size(), "a log format error outside the template");
    require(!error.message.empty(), "a log format error without a message");
  }
  auto json = serverd::compile_log_format("json", &error);
  require(json.has_value(), "the json log format does not compile");
  out.clear();
  serverd::render_log_line(*json, ctx, out);
  require(out.size() >= 2 && out.front() == '{' && out.back() == '}',
          "the json access log line is not one object", out);
  require(!has_control(out), "a raw control byte in the json access log", out);
  require(valid_utf8(out), "invalid UTF-8 in the json access log", out);
  return 0;
}
