#pragma once
// Creating processes: fork with descriptor hygiene, privilege drop, per-worker limits, daemon.
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace serverd {

// Forks. The child closes every descriptor except 0-2 and `keep` (a child must never touch the
// master's epoll instance, signalfd or other children's channels), runs `body`, flushes the log
// and exits with body's result (without unwinding the parent's stack it inherited).
pid_t spawn_process(const std::vector<int>& keep, const std::function<int()>& body);

// As root with a user configured: switch to that user and its groups. Throws on failure.
void drop_privileges(const std::string& user);

// worker_rlimit_nofile and worker_cpu_affinity; problems are logged, not fatal (as nginx).
void apply_worker_limits(const MainConfig& main, int slot);

// Detaches from the terminal: fork, setsid, fork. Stdio is redirected later by
// redirect_stdio_to_null(), once start-up errors can no longer happen.
void daemonize();
void redirect_stdio_to_null();

// "exited with status 1" / "killed by signal 9 (KILL)" / "killed by signal 6 (ABRT), core dumped"
std::string describe_exit(int wait_status);

}  // namespace serverd
