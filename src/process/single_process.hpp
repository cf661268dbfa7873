#pragma once
#include "core/config.hpp"

namespace serverd {

class ModuleList;

// Serves `config` in this one process until TERM/INT (fast) or QUIT (graceful). Returns the
// process exit code. (The master/agent/worker model replaces this.)
int run_single_process(ConfigPtr config, const ModuleList& modules);

}  // namespace serverd
