#pragma once
#include "http/module.hpp"

namespace serverd {

// Every module compiled into serverd, in the order their hooks and filters run.
const ModuleList& builtin_modules();

}  // namespace serverd
