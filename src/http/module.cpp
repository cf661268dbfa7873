#include "http/module.hpp"

#include "http/exchange.hpp"

namespace serverd {

void Module::handle(Exchange& exchange, const ModuleConf& /*conf*/) const {
  // Only reached if a module claims locations without implementing a handler: a bug, but one
  // that must cost a request, not a worker.
  exchange.respond_error(500);
}

}  // namespace serverd
