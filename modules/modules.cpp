#include "modules/modules.hpp"

#include "modules/access_log/access_log_module.hpp"
#include "modules/headers/headers_module.hpp"
#include "modules/proxy/proxy_module.hpp"
#include "modules/return/return_module.hpp"
#include "modules/static/static_module.hpp"

namespace serverd {

const ModuleList& builtin_modules() {
  // Order matters: `return` is listed before `static` so that, like nginx's rewrite phase,
  // it runs first when both could answer (an explicit `return` in a location whose `root`
  // is inherited from the server). `headers` only adds response headers (to whichever module
  // answered). `access_log` only logs exchanges: it comes last.
  static const ReturnModule return_module;
  static const ProxyModule proxy_module;
  static const StaticModule static_module;
  static const HeadersModule headers_module;
  static const AccessLogModule access_log_module;
  static const ModuleList list(
      {&return_module, &proxy_module, &static_module, &headers_module, &access_log_module});
  return list;
}

}  // namespace serverd
