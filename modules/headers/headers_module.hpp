#pragma once
// `add_header`: response headers added by the configuration, as nginx's directive of that name.
//
//   add_header = { "X-Frame-Options" = "DENY",
//                  "Strict-Transport-Security" = { value = "max-age=63072000", always = true } }
//
// Values are templates (http/variables.hpp). As in nginx, a header is added only to responses
// with status 200, 201, 204, 206, 301, 302, 303, 304, 307 or 308 unless `always = true`, and a
// location that sets `add_header` replaces (does not extend) the server's list. A configured
// `Content-Type` or `Server` replaces the one the handler or the HTTP layer would send.
//
//   charset = "utf-8"                       # nginx's charset: "; charset=utf-8" is appended to
//   charset_types = ["text/html", ...]      # the Content-Type of these types (nginx's defaults)
//
// `charset` and `charset_types` inherit on their own, independently of `add_header`; "off"
// turns an inherited charset off. A type that already names a charset is left alone.
#include <span>
#include <string>
#include <vector>

#include "http/module.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/variables.hpp"

namespace serverd {

struct AddedHeader {
  std::string name;
  std::string value;          // template
  CompiledTemplate compiled;  // `value`, compiled at config load
  bool always = false;
};

struct HeadersConf : ModuleConf {
  std::vector<AddedHeader> headers;
  bool headers_set = false;  // `add_header` was written (an empty list then stops inheritance)
  std::string charset;       // empty = off
  bool charset_set = false;  // written here (so "off" is dumped and stays off)
  std::vector<std::string> charset_types = default_charset_types();
  bool charset_types_set = false;

  static std::vector<std::string> default_charset_types();
};

class HeadersModule : public Module {
 public:
  std::string_view name() const override { return "headers"; }
  DirectiveTable directives() const override;
  std::shared_ptr<ModuleConf> create(ConfigLevel level, const ModuleConf* parent) const override;
  bool finish(ConfigLevel level, ModuleConf& conf, const toml::table& block, ConfigContext& ctx,
              bool had_errors) const override;
  void filter_headers(Exchange& exchange, Response& response,
                      const ModuleConf& conf) const override;
};

// Adds the configured headers that apply to `response` (split out for tests).
void add_configured_headers(const HeadersConf& conf, const Request& request, Response& response);
// Appends "; charset=..." to the Content-Type when `charset` is on and the type is one of
// `charset_types` without a charset of its own.
void apply_charset(const HeadersConf& conf, Response& response);

}  // namespace serverd
