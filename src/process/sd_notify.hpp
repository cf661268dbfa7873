#pragma once
#include <string_view>

namespace serverd {

// systemd's notify protocol over a plain datagram socket (no libsystemd): does nothing when
// NOTIFY_SOCKET is not set. e.g. "READY=1", "RELOADING=1", "STOPPING=1", "MAINPID=123".
void sd_notify(std::string_view state);

}  // namespace serverd
