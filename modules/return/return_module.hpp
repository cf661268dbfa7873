#pragma once
// `return`: answers a location (or a whole server) with a fixed status, redirect or body, like
// nginx's `return` directive.
//
//   return = 404
//   return = { status = 301, location = "https://$host$request_uri" }
//   return = { status = 200, body = "hello\n", content_type = "text/plain" }
//
// `location` and `body` are templates (http/variables.hpp).
#include <optional>
#include <span>
#include <string>

#include "http/module.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/variables.hpp"

namespace serverd {

struct ReturnConf : ModuleConf {
  int status = 0;
  std::optional<std::string> location;  // template
  std::optional<std::string> body;      // template
  std::optional<std::string> content_type;
  CompiledTemplate location_template;  // compiled at config load
  CompiledTemplate body_template;
};

class ReturnModule : public Module {
 public:
  std::string_view name() const override { return "return"; }
  std::span<const ConfigKey> keys() const override;
  ModuleConfPtr configure(ConfigLevel level, const toml::table& block, const ModuleConfPtr& parent,
                          ConfigContext& ctx) const override;
  void dump(const ModuleConf& conf, toml::table& out) const override;

  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf& conf) const override;
  void handle(Exchange& exchange, const ModuleConf& conf) const override;
};

// The response for these settings and request: split from handle() so it can be tested without
// an Exchange.
Response make_return_response(const ReturnConf& conf, const Request& request);

// Whether a status is a redirect that needs a Location (301, 302, 303, 307, 308).
bool is_redirect_status(int status);

}  // namespace serverd
