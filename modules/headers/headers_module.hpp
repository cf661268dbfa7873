#pragma once
// `add_header`: response headers added by the configuration, as nginx's directive of that name.
//
//   add_header = { "X-Frame-Options" = "DENY",
//                  "Strict-Transport-Security" = { value = "max-age=63072000", always = true } }
//
// Values are templates (http/variables.hpp). As in nginx, a header is added only to responses
// with status 200, 201, 204, 206, 301, 302, 303, 304, 307 or 308 unless `always = true`, and a
// location that sets `add_header` replaces (does not extend) the server's list.
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
};

class HeadersModule : public Module {
 public:
  std::string_view name() const override { return "headers"; }
  std::span<const ConfigKey> keys() const override;
  ModuleConfPtr configure(ConfigLevel level, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override;
  void dump(const ModuleConf& conf, toml::table& out) const override;
  void filter_headers(Exchange& exchange, Response& response,
                      const ModuleConf& conf) const override;
};

// Adds the configured headers that apply to `response` (split out for tests).
void add_configured_headers(const HeadersConf& conf, const Request& request, Response& response);

}  // namespace serverd
