#pragma once
// Fixed-size blocks recycled through a per-process free list, and a Buffer that holds one only
// while it has bytes: an idle keep-alive connection holds no buffer memory at all.
#include <cassert>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace serverd {

class BufferPool {
 public:
  explicit BufferPool(std::size_t block_size = 16 * 1024, std::size_t max_free = 128)
      : block_size_(block_size), max_free_(max_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::size_t block_size() const { return block_size_; }
  char* acquire();
  void release(char* block) noexcept;
  std::size_t free_blocks() const { return free_.size(); }

  // Blocks beyond the cache go back to malloc, which keeps their pages: after a burst of many
  // busy connections those pages would stay resident while the connections idle. `on_spill` runs
  // when the first block spills after take_spilled(), so the owner can schedule a trim.
  void set_spill_handler(std::function<void()> on_spill) { on_spill_ = std::move(on_spill); }
  std::size_t take_spilled() { return std::exchange(spilled_, 0); }

 private:
  std::size_t block_size_;
  std::size_t max_free_;
  std::vector<char*> free_;
  std::size_t spilled_ = 0;
  std::function<void()> on_spill_;
};

class Buffer {
 public:
  explicit Buffer(BufferPool& pool) : pool_(&pool) {}
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  bool empty() const { return begin_ == end_; }
  std::size_t size() const { return end_ - begin_; }
  const char* data() const { return block_ + begin_; }
  std::string_view view() const { return {data(), size()}; }
  bool has_block() const { return block_ != nullptr; }
  std::size_t capacity() const { return pool_->block_size(); }

  // Space to read into; acquires a block (and compacts) as needed. May be 0 when full.
  char* write_ptr() {
    if (!block_) block_ = pool_->acquire();
    if (end_ == capacity() && begin_ > 0) compact();
    return block_ + end_;
  }
  std::size_t writable() const { return block_ ? capacity() - end_ : capacity(); }
  void commit(std::size_t n) {
    assert(end_ + n <= capacity());
    end_ += n;
  }
  // Appends as much of `bytes` as fits; returns how much did.
  std::size_t append(std::string_view bytes) {
    write_ptr();
    std::size_t n = std::min(bytes.size(), capacity() - end_);
    if (n > 0) std::memcpy(block_ + end_, bytes.data(), n);  // data() may be null when empty
    end_ += n;
    return n;
  }
  void consume(std::size_t n) {
    assert(n <= size());
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(block_, block_ + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() { begin_ = end_ = 0; }
  // Returns the block to the pool when no bytes are held.
  void release_if_empty() {
    if (empty()) release();
  }
  void release() {
    if (block_) pool_->release(block_);
    block_ = nullptr;
    begin_ = end_ = 0;
  }

 private:
  BufferPool* pool_;
  char* block_ = nullptr;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace serverd
