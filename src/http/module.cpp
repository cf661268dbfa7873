#include "http/module.hpp"

#include "http/exchange.hpp"

namespace serverd {

void Module::handle(Exchange& exchange, const ModuleConf& /*conf*/) const {
  // Only reached if a module claims locations without implementing a handler: a bug, but one
  // that must cost a request, not a worker.
  exchange.respond_error(500);
}

int ModuleList::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < modules_.size(); ++i)
    if (modules_[i]->name() == name) return static_cast<int>(i);
  return -1;
}

}  // namespace serverd
