// Connection: a complete answer (Exchange::respond). Header filters, the keep-alive decision,
// the head, and the body: in memory, a small file copied behind the head, or a file for
// sendfile.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "http/connection.hpp"
#include "http/module.hpp"
#include "http/response_head.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace serverd {

void Connection::begin_response(Response& response) {
  const Request& req = slot_->request;
  log_.status = response.status;
  if (location_) {
    const auto& modules = owner_.modules();
    for (std::size_t i = 0; i < modules.size(); ++i) {
      if (const ModuleConf* conf = location_->modules[i].get())
        modules[i].filter_headers(*this, response, *conf);
    }
  }
  const auto keepalive_requests = server_conf_ ? server_conf_->limits.keepalive_requests : 1000u;
  // After an Upgrade request that was not switched, the bytes that follow are not HTTP.
  keep_alive_ = req.keep_alive() && !req.upgrade() && !response.close_connection && !draining_ &&
                !owner_.draining() && requests_ + 1 < keepalive_requests;
}

void Connection::respond(Response&& response) {
  assert(slot_ && answer_ == Answer::none);
  if (!slot_ || answer_ != Answer::none || phase_ == Phase::closed) return;
  answer_ = Answer::done;
  async_ = nullptr;
  begin_response(response);
  const bool no_body = status_has_no_body(response.status);
  std::uint64_t length = no_body ? 0 : response.body_length();
  write_head(response, length, no_body ? BodyFraming::none : BodyFraming::length);
  if (!no_body && !slot_->request.is_head()) {
    log_.body_bytes_sent = response.body_length();
    set_body(response);
  }
  if (!keep_alive_) close_after_output();
  process();
}

void Connection::write_head(const Response& r, std::uint64_t content_length, BodyFraming framing) {
  fmt::memory_buffer head;
  HeadOptions options;
  options.date = owner_.date();
  options.framing = framing;
  options.content_length = content_length;
  options.keep_alive = keep_alive_;
  options.http10 = slot_->request.version_minor() == 0;
  write_response_head(head, r, options);
  append_output({head.data(), head.size()});
}

void Connection::set_body(Response& r) {
  if (!r.file) {
    append_output(r.body);
    return;
  }
  // Small files ride in the same write as the head: one syscall instead of writev + sendfile.
  if (overflow_.empty() && r.file_length <= out_.writable() && r.file_length <= 16 * 1024) {
    char* p = out_.write_ptr();
    std::uint64_t done = 0;
    while (done < r.file_length) {
      ssize_t n = ::pread(r.file.get(), p + done, r.file_length - done,
                          static_cast<off_t>(r.file_offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::uint64_t>(n);
    }
    out_.commit(done);
    if (done < r.file_length) {
      // The file shrank under us: the promised length cannot be met, so the connection ends.
      spdlog::error("short read of a file body ({} of {} bytes)", done, r.file_length);
      keep_alive_ = false;
      close_after_output();
    }
    return;
  }
  file_ = std::move(r.file);
  file_offset_ = r.file_offset;
  file_left_ = r.file_length;
}

}  // namespace serverd
