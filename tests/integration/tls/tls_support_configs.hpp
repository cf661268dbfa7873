#pragma once
// Configs and certificates shared by the TLS integration tests.
#include <string>

#include "../harness/reload_support.hpp"
#include "../harness/temp_dir.hpp"
#include "../harness/test_server.hpp"
#include "../harness/tls_support.hpp"

namespace serverd::itest {

// ca.pem/ca.key, a.pem/a.key (CN a.test), b.pem/b.key (CN b.test), both also valid for
// localhost and 127.0.0.1.
inline void make_two_certs(const TempDir& dir) {
  make_ca(dir.path(), "ca");
  make_cert(dir.path(), "ca", "a", "a.test", {"DNS:a.test", "DNS:localhost", "IP:127.0.0.1"});
  make_cert(dir.path(), "ca", "b", "b.test", {"DNS:b.test", "DNS:localhost", "IP:127.0.0.1"});
}

// Two servers on one TLS address: a.test (the default) and b.test, each answering its name.
inline std::string two_server_config(int workers = 2, const std::string& main_extra = "",
                                     const std::string& listen_extra = "") {
  std::string c =
      "[main]\npid_file = \"serverd.pid\"\nworker_processes = " + std::to_string(workers) + "\n" +
      main_extra + "\n[log]\nerror_log = \"error.log\"\nlevel = \"info\"\n\n";
  for (const char* name : {"a", "b"}) {
    c += "[[server]]\n";
    c += "listen = [{ address = \"127.0.0.1:{PORT}\", tls = true" + listen_extra + " }]\n";
    c += std::string("server_name = [\"") + name + ".test\"]\n";
    c += tls_line(name);
    c += "\n  [[server.location]]\n  path = \"/\"\n";
    c += std::string("  return = { status = 200, body = \"server ") + name + "\\n\" }\n\n";
  }
  return c;
}

}  // namespace serverd::itest
