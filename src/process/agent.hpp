#pragma once
#include "core/config.hpp"
#include "process/channel.hpp"

namespace serverd {

class ModuleList;
class ProcessTitle;

struct AgentParams {
  ConfigPtr config;
  const ModuleList* modules;
  Channel channel;
  ProcessTitle* title;
};

// The agent: chores that must happen once for the whole server (log rotation, health checks,
// ticket keys), never raced by N workers. Returns the exit code.
int run_agent(AgentParams params);

}  // namespace serverd
