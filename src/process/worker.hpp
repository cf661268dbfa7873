#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"
#include "process/channel.hpp"
#include "process/listeners.hpp"

namespace serverd {

class ModuleList;
class ProcessTitle;

struct WorkerParams {
  ConfigPtr config;
  const ModuleList* modules;
  int slot;
  Channel channel;
  std::vector<WorkerListener> listeners;
  ProcessTitle* title;
  std::string ticket_keys;  // TicketKeys::serialize() of the master's current set
};

// A worker process's life: serve until told to quit (or until the master disappears).
// Returns the exit code.
int run_worker(WorkerParams params);

}  // namespace serverd
