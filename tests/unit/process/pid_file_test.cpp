// The pid file with real files and real processes: the fcntl lock refuses a second master while
// the first is alive, a stale file (its writer killed) is taken over, and the lock follows the
// file when an upgrade moves it aside.
#include "process/pid_file.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "process_test_support.hpp"

namespace serverd {
namespace {

// Reads the file. Careful: it opens and closes the file, and closing any descriptor of a file
// drops this process's fcntl locks on it, so the tests read a held file only from another
// process than the holder, or after the checks of the lock.
std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// Exit status 0 when `path` could be taken as a pid file by another process, 1 when refused.
int try_in_child(const std::filesystem::path& path) {
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      PidFile taken(path);  // removed again when it goes: it holds this child's pid
      code = 0;
    } catch (const std::exception&) {
    }
    ::_exit(code);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// A process that holds `path` until it is killed.
class Holder {
 public:
  explicit Holder(const std::filesystem::path& path) {
    test::Pipe ready;
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      try {
        PidFile held(path);
        (void)!::write(ready.write_end.get(), "r", 1);
        for (;;) ::pause();
      } catch (const std::exception&) {
        ::_exit(1);
      }
    }
    ready.write_end.reset();
    pollfd p{ready.read_end.get(), POLLIN, 0};
    char c = 0;
    const bool held = ::poll(&p, 1, 5000) == 1 && ::read(ready.read_end.get(), &c, 1) == 1;
    if (!held) kill();  // the destructor does not run when the constructor fails
    BOOST_REQUIRE(held);
  }
  ~Holder() { kill(); }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  pid_t pid() const { return pid_; }
  // SIGKILL: no destructor runs, the file stays behind naming a dead process.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

 private:
  pid_t pid_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(process_pid_file)

BOOST_AUTO_TEST_CASE(holds_our_pid_and_goes_with_us) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "serverd.pid";
  {
    PidFile file(path);
    BOOST_TEST(file.path() == path);
    BOOST_TEST(try_in_child(path) == 1);
    BOOST_TEST(contents(path) == std::to_string(::getpid()) + "\n");
    std::string error;
    BOOST_TEST(read_pid_file(path, &error).value_or(0) == ::getpid());
  }
  BOOST_TEST(!std::filesystem::exists(path));
}

BOOST_AUTO_TEST_CASE(a_live_master_is_refused_and_named_then_its_stale_file_taken_over) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "serverd.pid";
  Holder holder(path);
  const pid_t first = holder.pid();
  BOOST_TEST(contents(path) == std::to_string(first) + "\n");
  try {
    PidFile second(path);
    BOOST_FAIL("a second pid file on a held path was accepted");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "another serverd (pid " + std::to_string(first) +
                                            ") is running with pid file \"" + path.string() + "\"");
  }
  BOOST_TEST(contents(path) == std::to_string(first) + "\n");  // left as it was

  holder.kill();  // crashed: the file remains, the lock went with the process
  BOOST_TEST(contents(path) == std::to_string(first) + "\n");
  PidFile taken(path);
  BOOST_TEST(try_in_child(path) == 1);
  BOOST_TEST(contents(path) == std::to_string(::getpid()) + "\n");
}

BOOST_AUTO_TEST_CASE(a_stale_file_of_any_content_is_rewritten_whole) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "serverd.pid";
  put(path, "not a pid at all, and longer than one\n");
  PidFile file(path);
  BOOST_TEST(contents(path) == std::to_string(::getpid()) + "\n");
}

BOOST_AUTO_TEST_CASE(a_file_that_names_another_process_is_left_in_place) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "serverd.pid";
  {
    PidFile file(path);
    put(path, "1\n");  // someone else's now
  }
  BOOST_TEST(contents(path) == "1\n");
}

BOOST_AUTO_TEST_CASE(moved_aside_for_an_upgrade_it_keeps_the_lock) {
  test::ProcessTempDir dir;
  const auto path = dir.path() / "serverd.pid";
  const auto oldbin = dir.path() / "serverd.pid.oldbin";
  PidFile file(path);
  BOOST_TEST_REQUIRE(file.rename_to(oldbin));
  BOOST_TEST(file.path() == oldbin);
  BOOST_TEST(!std::filesystem::exists(path));
  BOOST_TEST(try_in_child(oldbin) == 1);  // the lock moved with the file
  BOOST_TEST(try_in_child(path) == 0);    // the new master can create its own
  BOOST_TEST(!std::filesystem::exists(path));

  // Rollback.
  BOOST_TEST_REQUIRE(file.rename_to(path));
  BOOST_TEST(try_in_child(path) == 1);
  BOOST_TEST(!file.rename_to(dir.path() / "no" / "such" / "dir.pid"));
  BOOST_TEST(file.path() == path);
  BOOST_TEST(contents(path) == std::to_string(::getpid()) + "\n");
}

BOOST_AUTO_TEST_CASE(errors_name_the_file) {
  test::ProcessTempDir dir;
  const auto missing_dir = dir.path() / "no" / "serverd.pid";
  try {
    PidFile file(missing_dir);
    BOOST_FAIL("a pid file in a missing directory was created");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) ==
               "cannot open pid file \"" + missing_dir.string() + "\": No such file or directory");
  }

  std::string error;
  BOOST_TEST(!read_pid_file(dir.path() / "none.pid", &error));
  BOOST_TEST(error == "cannot open pid file \"" + (dir.path() / "none.pid").string() +
                          "\": No such file or directory (is serverd running?)");
  for (const char* bad : {"", "abc\n", "0\n", "-5\n"}) {
    put(dir.path() / "bad.pid", bad);
    error.clear();
    BOOST_TEST(!read_pid_file(dir.path() / "bad.pid", &error), bad);
    BOOST_TEST(error ==
               "pid file \"" + (dir.path() / "bad.pid").string() + "\" does not contain a pid");
  }
  put(dir.path() / "ok.pid", "  4242\n");
  BOOST_TEST(read_pid_file(dir.path() / "ok.pid", &error).value_or(0) == 4242);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd
