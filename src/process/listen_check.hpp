#pragma once
// What `serverd -t` adds to a config check, as nginx's -t does: every listen address must be
// bindable now. An address already in use is fine only when the running master named by the
// pid file holds it (checking the config of a running server), found by matching the listening
// socket's inode in /proc/net/tcp{,6} against the master's /proc/PID/fd.
#include "core/config.hpp"
#include "core/errors.hpp"

namespace serverd {

// One error per listen address in use by another process, at the listen entry's position.
ErrorList check_listen_addresses(const Config& config);

}  // namespace serverd
