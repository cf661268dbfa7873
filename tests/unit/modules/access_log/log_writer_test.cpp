// The access log writer: whole lines per write(), flush when the next line would not fit, a line
// longer than the buffer written alone, the flush timer, reopen after a rename, write errors
// counted instead of thrown.
#include "modules/access_log/log_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../module_test_support.hpp"
#include "event/loop.hpp"

namespace serverd {
namespace {

using test::TempDir;
using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// A line of exactly `size` bytes, '\n' included, tagged with `n`.
std::string line_of(std::size_t size, int n) {
  std::string tag = "line " + std::to_string(n) + " ";
  std::string s = tag + std::string(size - tag.size() - 1, 'x') + "\n";
  return s;
}

BOOST_AUTO_TEST_SUITE(access_log_writer)

BOOST_AUTO_TEST_CASE(writes_whole_lines_when_the_next_would_not_fit) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "logs" / "sub" / "access.log";  // parents are created
  LogWriter w(loop.timers(), path, 100, 1s);
  BOOST_TEST_REQUIRE(w.is_open());
  for (int i = 0; i < 3; ++i) w.append(line_of(30, i));
  BOOST_TEST(slurp(path).empty());
  BOOST_TEST(w.buffered() == 90u);
  w.append(line_of(30, 3));  // 120 > 100: the three buffered lines go out first, in one write
  BOOST_TEST(slurp(path) == line_of(30, 0) + line_of(30, 1) + line_of(30, 2));
  BOOST_TEST(w.writes() == 1u);
  BOOST_TEST(w.buffered() == 30u);
  // Exactly filling the buffer does not write yet.
  w.append(line_of(70, 4));
  BOOST_TEST(w.buffered() == 100u);
  BOOST_TEST(w.writes() == 1u);
  w.flush();
  BOOST_TEST(w.writes() == 2u);
  BOOST_TEST(slurp(path) ==
             line_of(30, 0) + line_of(30, 1) + line_of(30, 2) + line_of(30, 3) + line_of(70, 4));
  // 0644, less what the umask takes away.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == (0644 & ~mask));
}

BOOST_AUTO_TEST_CASE(a_line_longer_than_the_buffer_is_written_alone) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "access.log";
  LogWriter w(loop.timers(), path, 64, 1s);
  w.append(line_of(20, 1));
  w.append(line_of(200, 2));
  // The buffered line first, then the long one by itself: two writes, nothing left.
  BOOST_TEST(w.writes() == 2u);
  BOOST_TEST(w.buffered() == 0u);
  BOOST_TEST(slurp(path) == line_of(20, 1) + line_of(200, 2));
}

BOOST_AUTO_TEST_CASE(zero_buffer_writes_every_line_at_once) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "access.log";
  LogWriter w(loop.timers(), path, 0, 1s);
  w.append("a\n");
  w.append("b\n");
  BOOST_TEST(w.writes() == 2u);
  BOOST_TEST(slurp(path) == "a\nb\n");
}

BOOST_AUTO_TEST_CASE(many_lines_are_never_split) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "access.log";
  std::string expected;
  {
    LogWriter w(loop.timers(), path, 4096, 1s);
    for (int i = 0; i < 5000; ++i) {
      const std::string l = line_of(static_cast<std::size_t>(20 + (i * 37) % 300), i);
      expected += l;
      w.append(l);
      // Whatever was written so far ends at a line boundary.
      if (i % 97 == 0) {
        const std::string now = slurp(path);
        BOOST_TEST_REQUIRE((now.empty() || now.back() == '\n'));
        BOOST_TEST_REQUIRE(now.size() + w.buffered() == expected.size());
      }
    }
    BOOST_TEST(w.writes() > 100u);
  }  // the destructor writes the rest
  BOOST_TEST(slurp(path) == expected);
}

BOOST_AUTO_TEST_CASE(the_timer_writes_a_line_within_the_flush_interval) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "access.log";
  LogWriter w(loop.timers(), path, 64 * 1024, 100ms);
  loop.run_once(0);  // refresh the loop's clock
  const auto start = Clock::now();
  w.append("one\n");
  w.append("two\n");
  BOOST_TEST(slurp(path).empty());
  while (slurp(path).empty() && Clock::now() - start < 2s) loop.run_once(50);
  const auto waited = Clock::now() - start;
  BOOST_TEST(slurp(path) == "one\ntwo\n");
  BOOST_TEST((waited >= 90ms));
  BOOST_TEST((waited < 1s));
  BOOST_TEST(w.writes() == 1u);
}

BOOST_AUTO_TEST_CASE(reopen_writes_to_the_old_file_then_the_new_one) {
  TempDir dir;
  EventLoop loop;
  const auto path = dir.path() / "access.log";
  LogWriter w(loop.timers(), path, 4096, 1s);
  w.append("before\n");
  std::filesystem::rename(path, dir.path() / "access.log.1");
  w.append("still old\n");  // buffered: lands in the renamed file at reopen
  w.reopen();
  w.append("after\n");
  w.flush();
  BOOST_TEST(slurp(dir.path() / "access.log.1") == "before\nstill old\n");
  BOOST_TEST(slurp(path) == "after\n");
}

BOOST_AUTO_TEST_CASE(write_errors_are_counted_not_thrown) {
  EventLoop loop;
  // /dev/full: open works, every write fails with ENOSPC.
  LogWriter w(loop.timers(), "/dev/full", 16, 1s);
  BOOST_TEST_REQUIRE(w.is_open());
  w.append("0123456789\n");
  w.append("0123456789\n");  // does not fit: the first line is written, and fails
  BOOST_TEST(w.failed_writes() == 1u);
  BOOST_TEST(w.lost_lines() == 1u);
  w.flush();
  BOOST_TEST(w.failed_writes() == 2u);
  BOOST_TEST(w.lost_lines() == 2u);
  BOOST_TEST(w.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(an_unopenable_path_drops_lines_and_retries_later) {
  TempDir dir;
  EventLoop loop;
  dir.mkdir("adir");
  LogWriter w(loop.timers(), dir.path() / "adir", 16, 1s);  // a directory: open fails
  BOOST_TEST(!w.is_open());
  w.append("a line that is long\n");
  BOOST_TEST(w.lost_lines() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
