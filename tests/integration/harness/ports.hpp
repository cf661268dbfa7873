#pragma once
// Free TCP ports on 127.0.0.1 (bind to port 0, read the port the kernel chose, close).
#include <chrono>

namespace serverd::itest {

int pick_free_port();

// True once a TCP connection to 127.0.0.1:port succeeds (the probe connection is closed at once).
bool port_accepts(int port, std::chrono::milliseconds connect_timeout);

}  // namespace serverd::itest
