#pragma once
// Process titles as ps shows them ("serverd: worker process"), written over the argv area as
// nginx does. The environment, which follows argv in memory, is moved to the heap first.
#include <string_view>

namespace serverd {

class ProcessTitle {
 public:
  ProcessTitle(int argc, char** argv);
  ProcessTitle(const ProcessTitle&) = delete;
  ProcessTitle& operator=(const ProcessTitle&) = delete;
  void set(std::string_view title);

 private:
  char* begin_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace serverd
