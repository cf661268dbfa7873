// Connection: the socket side. Reading into the pooled input buffer, and writing the output
// (buffer, overflow string, file body) with sendmsg/sendfile, or through TLS.
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "http/connection.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "tls/tls_session.hpp"

namespace serverd {

namespace {
constexpr std::size_t kSendfileChunk = 2 * 1024 * 1024;
}  // namespace

bool Connection::tls_handshake() {
  const int r = tls_->handshake();
  if (r == 0) return false;  // the next event continues it
  if (r < 0) {
    // Garbage, a protocol the listener refuses, a client that vanished: this connection only.
    spdlog::info("client {}: TLS handshake failed: {}", peer_.to_string(), tls_->failure());
    close();
    return false;
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("client {}: TLS handshake done ({}, {}, SNI \"{}\", ALPN \"{}\", {})",
                  peer_.to_string(), tls_->protocol(), tls_->cipher(), tls_->server_name(),
                  tls_->alpn(), tls_->reused() ? "session reused" : "new session");
  }
  timer_.arm(servers_.select({}).limits.client_header_timeout);
  readable_ = true;  // the handshake may have left request bytes in the socket
  return true;
}

bool Connection::read_input() {
  char* p = in_.write_ptr();
  std::size_t room = in_.writable();
  assert(room > 0);
  ssize_t n = tls_ ? tls_->read(p, room) : ::recv(fd_.get(), p, room, 0);
  if (n > 0) {
    in_.commit(static_cast<std::size_t>(n));
    // A short read drained the socket; edge-triggered epoll will tell us about more.
    // (Unless the client's FIN came with the data: its edge will not be reported again.)
    // TLS returns one record at a time: only EAGAIN says the socket is drained.
    if (static_cast<std::size_t>(n) < room && !eof_seen_ && !tls_) readable_ = false;
    if ((phase_ == Phase::exchange || phase_ == Phase::tunnel) && !message_done_)
      timer_.arm(server_conf_->limits.client_body_timeout);
    return true;
  }
  in_.release_if_empty();
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    readable_ = false;
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  // EOF or a reset. A client may half-close after sending its last request and still wait for
  // the answer: a complete request is still answered, then the connection closes.
  readable_ = false;
  peer_closed_ = true;
  if (n == 0 && slot_ && message_done_) return true;
  if (slot_ && n == 0)
    spdlog::debug("client {} closed the connection in the middle of a request", peer_.to_string());
  close();
  return false;
}

void Connection::append_output(std::string_view bytes) {
  if (overflow_.empty()) {
    std::size_t n = out_.append(bytes);
    bytes.remove_prefix(n);
  }
  if (!bytes.empty()) overflow_.append(bytes);
}

bool Connection::output_pending() const {
  return !out_.empty() || overflow_sent_ < overflow_.size() || file_left_ > 0;
}

bool Connection::flush() {
  for (;;) {
    std::size_t over = overflow_.size() - overflow_sent_;
    // No sendfile through TLS: the file goes through the output buffer and SSL_write, filled
    // behind whatever is already there, so the head and the start of the body leave in one
    // record and one send() (what nginx's ssl_buffer achieves).
    if (tls_ && file_left_ > 0 && over == 0 && out_.writable() > 0 && !fill_from_file()) {
      close();
      return false;
    }
    if (!out_.empty() || over > 0) {
      iovec iov[2];
      int cnt = 0;
      if (!out_.empty()) iov[cnt++] = {const_cast<char*>(out_.data()), out_.size()};
      if (over > 0) iov[cnt++] = {overflow_.data() + overflow_sent_, over};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(cnt);
      // MSG_MORE holds a partial segment back while a file body follows (no tiny head packet).
      int flags = MSG_NOSIGNAL | (file_left_ > 0 ? MSG_MORE : 0);
      ssize_t n = tls_ ? send_output(iov, cnt, flags) : ::sendmsg(fd_.get(), &msg, flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          timer_.arm(server_conf_ ? server_conf_->limits.send_timeout
                                  : servers_.select({}).limits.send_timeout);
          return false;
        }
        close();
        return false;
      }
      auto written = static_cast<std::size_t>(n);
      std::size_t from_out = std::min(written, out_.size());
      out_.consume(from_out);
      overflow_sent_ += written - from_out;
      if (overflow_sent_ == overflow_.size()) {
        overflow_.clear();
        overflow_sent_ = 0;
        if (overflow_.capacity() > 64 * 1024) overflow_.shrink_to_fit();
      }
      if (timer_.armed() && (file_left_ > 0 || !out_.empty() || !overflow_.empty()))
        timer_.arm(server_conf_ ? server_conf_->limits.send_timeout
                                : servers_.select({}).limits.send_timeout);
      continue;
    }
    if (file_left_ > 0) {
      assert(!tls_);  // TLS bodies were moved into out_ at the top of the loop
      off_t off = static_cast<off_t>(file_offset_);
      ssize_t n = ::sendfile(fd_.get(), file_.get(), &off,
                             std::min<std::uint64_t>(file_left_, kSendfileChunk));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          timer_.arm(server_conf_->limits.send_timeout);
          return false;
        }
        close();
        return false;
      }
      if (n == 0) {
        spdlog::error("file body ended {} bytes early", file_left_);
        close();
        return false;
      }
      file_offset_ += static_cast<std::uint64_t>(n);
      file_left_ -= static_cast<std::uint64_t>(n);
      if (file_left_ == 0) file_.reset();
      continue;
    }
    out_.release_if_empty();
    return true;
  }
}

ssize_t Connection::send_output(const iovec* iov, int count, int /*flags*/) {
  // TLS: one SSL_write per piece (a piece is at most a buffer block or the overflow string);
  // the caller's accounting is the same as for a partial sendmsg.
  ssize_t total = 0;
  for (int i = 0; i < count; ++i) {
    const char* base = static_cast<const char*>(iov[i].iov_base);
    std::size_t done = 0;
    while (done < iov[i].iov_len) {
      const ssize_t n = tls_->write(base + done, iov[i].iov_len - done);
      if (n < 0) return total > 0 ? total : n;
      done += static_cast<std::size_t>(n);
      total += n;
    }
  }
  return total;
}

bool Connection::fill_from_file() {
  char* p = out_.write_ptr();
  const std::size_t room =
      static_cast<std::size_t>(std::min<std::uint64_t>(out_.writable(), file_left_));
  for (;;) {
    const ssize_t n = ::pread(file_.get(), p, room, static_cast<off_t>(file_offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::error("file body ended {} bytes early", file_left_);
      return false;
    }
    out_.commit(static_cast<std::size_t>(n));
    file_offset_ += static_cast<std::uint64_t>(n);
    file_left_ -= static_cast<std::uint64_t>(n);
    if (file_left_ == 0) file_.reset();
    return true;
  }
}

}  // namespace serverd
