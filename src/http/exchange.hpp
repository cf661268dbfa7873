#pragma once
// What a content handler sees of one request: the request, where it was routed, and how to answer.
#include "core/config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace serverd {

class EventLoop;

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  virtual const ServerConfig& server() const = 0;
  virtual const LocationConfig& location() const = 0;
  virtual EventLoop& loop() = 0;
  // Sends a complete response. Call at most once per exchange.
  virtual void respond(Response&& response) = 0;

  void respond_error(int status) { respond(make_error_response(status)); }
};

}  // namespace serverd
