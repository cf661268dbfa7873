#include "event/buffer.hpp"

namespace serverd {

BufferPool::~BufferPool() {
  for (char* b : free_) delete[] b;
}

char* BufferPool::acquire() {
  if (free_.empty()) return new char[block_size_];
  char* b = free_.back();
  free_.pop_back();
  return b;
}

void BufferPool::release(char* block) noexcept {
  if (free_.size() < max_free_) {
    try {
      free_.push_back(block);
      return;
    } catch (...) {
      // fall through: freeing is always possible
    }
  }
  delete[] block;
  if (spilled_++ == 0 && on_spill_) on_spill_();
}

}  // namespace serverd
