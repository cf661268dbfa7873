#include "process/proc_title.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <string>

extern char** environ;

namespace serverd {

ProcessTitle::ProcessTitle(int argc, char** argv) {
  if (argc <= 0 || !argv || !argv[0]) return;
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i)
    if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
  std::size_t env_count = 0;
  for (char** e = environ; e && *e; ++e) {
    if (*e == end) end = *e + std::strlen(*e) + 1;
    ++env_count;
  }
  // The strings stay alive for the whole process: they are the process's environment.
  char** new_env = new char*[env_count + 1];
  for (std::size_t i = 0; i < env_count; ++i) new_env[i] = ::strdup(environ[i]);
  new_env[env_count] = nullptr;
  environ = new_env;
  // argv[1..] keep pointing into the area we are about to overwrite; nothing reads them after
  // the command line has been parsed.
  begin_ = argv[0];
  size_ = static_cast<std::size_t>(end - argv[0]);
}

void ProcessTitle::set(std::string_view title) {
  std::string comm(title.substr(0, 15));
  ::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
  if (!begin_ || size_ < 2) return;
  std::size_t n = std::min(title.size(), size_ - 1);
  std::memcpy(begin_, title.data(), n);
  std::memset(begin_ + n, 0, size_ - n);
}

}  // namespace serverd
