#include "event/buffer.hpp"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using serverd::Buffer;
using serverd::BufferPool;

BOOST_AUTO_TEST_SUITE(event_buffer)

BOOST_AUTO_TEST_CASE(pool_hands_back_the_released_block) {
  BufferPool pool(64, 4);
  BOOST_TEST(pool.block_size() == 64u);
  BOOST_TEST(pool.free_blocks() == 0u);
  char* a = pool.acquire();
  BOOST_REQUIRE(a != nullptr);
  std::memset(a, 'x', 64);  // the whole block is usable
  pool.release(a);
  BOOST_TEST(pool.free_blocks() == 1u);
  char* b = pool.acquire();
  BOOST_TEST(static_cast<void*>(b) == static_cast<void*>(a));
  BOOST_TEST(pool.free_blocks() == 0u);
  pool.release(b);
}

BOOST_AUTO_TEST_CASE(pool_reuses_most_recently_released_first_and_distinct_blocks) {
  BufferPool pool(32, 8);
  char* a = pool.acquire();
  char* b = pool.acquire();
  BOOST_TEST(static_cast<void*>(a) != static_cast<void*>(b));
  pool.release(a);
  pool.release(b);
  // LIFO: the warmest block comes back first.
  char* c = pool.acquire();
  char* d = pool.acquire();
  BOOST_TEST(static_cast<void*>(c) == static_cast<void*>(b));
  BOOST_TEST(static_cast<void*>(d) == static_cast<void*>(a));
  pool.release(c);
  pool.release(d);
}

BOOST_AUTO_TEST_CASE(pool_keeps_at_most_max_free_blocks) {
  BufferPool pool(16, 2);
  std::vector<char*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(pool.acquire());
  for (char* b : blocks) pool.release(b);
  BOOST_TEST(pool.free_blocks() == 2u);
  // The two kept are the first two released; the others were freed.
  char* x = pool.acquire();
  char* y = pool.acquire();
  BOOST_TEST(static_cast<void*>(x) == static_cast<void*>(blocks[1]));
  BOOST_TEST(static_cast<void*>(y) == static_cast<void*>(blocks[0]));
  pool.release(x);
  pool.release(y);

  BufferPool none(16, 0);
  none.release(none.acquire());
  BOOST_TEST(none.free_blocks() == 0u);
}

BOOST_AUTO_TEST_CASE(pool_reports_the_first_spill_after_each_take) {
  BufferPool pool(64, 1);
  int calls = 0;
  pool.set_spill_handler([&] { ++calls; });
  char* a = pool.acquire();
  char* b = pool.acquire();
  char* c = pool.acquire();
  pool.release(a);  // cached
  BOOST_TEST(calls == 0);
  pool.release(b);  // spilled: the owner hears of it once
  pool.release(c);
  BOOST_TEST(calls == 1);
  BOOST_TEST(pool.take_spilled() == 2U);
  BOOST_TEST(pool.take_spilled() == 0U);
  char* d = pool.acquire();
  char* e = pool.acquire();
  pool.release(d);
  pool.release(e);  // the next spill after a take is reported again
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(new_buffer_holds_no_block) {
  BufferPool pool(64, 4);
  Buffer buf(pool);
  BOOST_TEST(buf.empty());
  BOOST_TEST(buf.size() == 0u);
  BOOST_TEST(!buf.has_block());
  BOOST_TEST(buf.capacity() == 64u);
  BOOST_TEST(buf.writable() == 64u);
  buf.release_if_empty();
  BOOST_TEST(pool.free_blocks() == 0u);
}

BOOST_AUTO_TEST_CASE(append_consume_release_if_empty) {
  BufferPool pool(64, 4);
  {
    Buffer buf(pool);
    BOOST_TEST(buf.append("hello ") == 6u);
    BOOST_TEST(buf.append("world") == 5u);
    BOOST_TEST(buf.has_block());
    BOOST_TEST(buf.view() == "hello world");
    BOOST_TEST(buf.size() == 11u);
    BOOST_TEST(buf.writable() == 53u);

    buf.consume(6);
    BOOST_TEST(buf.view() == "world");
    BOOST_TEST(buf.size() == 5u);

    // Not empty: the block stays.
    buf.release_if_empty();
    BOOST_TEST(buf.has_block());
    BOOST_TEST(buf.view() == "world");
    BOOST_TEST(pool.free_blocks() == 0u);

    buf.consume(5);
    BOOST_TEST(buf.empty());
    // Consuming everything rewinds: the whole block is writable again.
    BOOST_TEST(buf.writable() == 64u);
    BOOST_TEST(buf.has_block());

    buf.release_if_empty();
    BOOST_TEST(!buf.has_block());
    BOOST_TEST(pool.free_blocks() == 1u);

    // Writing again takes the pooled block back.
    BOOST_TEST(buf.append("x") == 1u);
    BOOST_TEST(pool.free_blocks() == 0u);
    BOOST_TEST(buf.view() == "x");
  }
  // The destructor gives the block back.
  BOOST_TEST(pool.free_blocks() == 1u);
}

BOOST_AUTO_TEST_CASE(append_stops_at_capacity) {
  BufferPool pool(16, 4);
  Buffer buf(pool);
  BOOST_TEST(buf.append("0123456789abcdefXYZ") == 16u);
  BOOST_TEST(buf.view() == "0123456789abcdef");
  BOOST_TEST(buf.writable() == 0u);
  BOOST_TEST(buf.append("more") == 0u);
  BOOST_TEST(buf.view() == "0123456789abcdef");
}

BOOST_AUTO_TEST_CASE(full_buffer_compacts_when_space_is_asked_for) {
  BufferPool pool(16, 4);
  Buffer buf(pool);
  BOOST_TEST(buf.append("0123456789abcdef") == 16u);
  buf.consume(10);
  BOOST_TEST(buf.view() == "abcdef");
  BOOST_TEST(buf.writable() == 0u);  // the free head is not usable before compaction
  // append() asks for space: the 6 remaining bytes move to the front.
  BOOST_TEST(buf.append("GHIJKLMNOPQR") == 10u);
  BOOST_TEST(buf.view() == "abcdefGHIJKLMNOP");
  BOOST_TEST(buf.writable() == 0u);
}

BOOST_AUTO_TEST_CASE(explicit_compact_moves_bytes_to_the_front) {
  BufferPool pool(16, 4);
  Buffer buf(pool);
  buf.append("abcdefgh");
  buf.consume(3);
  BOOST_TEST(buf.writable() == 8u);
  buf.compact();
  BOOST_TEST(buf.view() == "defgh");
  BOOST_TEST(buf.writable() == 11u);
  buf.compact();  // nothing to move: a no-op
  BOOST_TEST(buf.view() == "defgh");
  BOOST_TEST(buf.writable() == 11u);
}

BOOST_AUTO_TEST_CASE(write_ptr_and_commit_read_in_place) {
  BufferPool pool(32, 4);
  Buffer buf(pool);
  char* p = buf.write_ptr();
  BOOST_TEST(buf.has_block());
  BOOST_TEST(buf.writable() == 32u);
  std::memcpy(p, "GET / HTTP/1.1\r\n", 16);
  buf.commit(16);
  BOOST_TEST(buf.view() == "GET / HTTP/1.1\r\n");
  p = buf.write_ptr();
  BOOST_TEST(static_cast<const void*>(p) == static_cast<const void*>(buf.data() + 16));
  std::memcpy(p, "Host: a\r\n", 9);
  buf.commit(9);
  BOOST_TEST(buf.view() == "GET / HTTP/1.1\r\nHost: a\r\n");
}

BOOST_AUTO_TEST_CASE(clear_keeps_the_block_release_returns_it) {
  BufferPool pool(32, 4);
  Buffer buf(pool);
  buf.append("data");
  buf.clear();
  BOOST_TEST(buf.empty());
  BOOST_TEST(buf.has_block());
  BOOST_TEST(buf.writable() == 32u);
  buf.append("again");
  buf.release();  // drops bytes too
  BOOST_TEST(!buf.has_block());
  BOOST_TEST(buf.empty());
  BOOST_TEST(pool.free_blocks() == 1u);
}

BOOST_AUTO_TEST_CASE(idle_buffers_share_one_pooled_block) {
  // The keep-alive pattern: many connections, each reading a request, then going idle.
  BufferPool pool(64, 4);
  std::vector<std::unique_ptr<Buffer>> conns;
  for (int i = 0; i < 10; ++i) conns.push_back(std::make_unique<Buffer>(pool));
  char* first = nullptr;
  for (auto& b : conns) {
    b->append("GET / HTTP/1.1\r\n\r\n");
    if (!first) first = const_cast<char*>(b->data());
    b->consume(b->size());
    b->release_if_empty();
    BOOST_TEST(!b->has_block());
  }
  // Each took the block the previous one gave back: one block served all ten.
  BOOST_TEST(pool.free_blocks() == 1u);
  char* again = pool.acquire();
  BOOST_TEST(static_cast<void*>(again) == static_cast<void*>(first));
  pool.release(again);
}

BOOST_AUTO_TEST_SUITE_END()
