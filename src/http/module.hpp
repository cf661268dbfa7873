#pragma once
// The module API. Its configuration side (directive table, settings, validation) is core's
// ConfigModule (core/config_module.hpp); this adds the request side: a module may be a
// location's content handler, filter response headers, log exchanges and hook into the
// worker's life. Core knows nothing about static files or proxying: those are modules, listed
// explicitly in modules/modules.cpp.
#include <toml++/toml.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/config_module.hpp"

namespace serverd {

class Exchange;
struct ExchangeLog;
class Request;
struct Response;
class WorkerContext;

class Module : public ConfigModule {
 public:
  // The content handler of a location (see ConfigModule::is_content_handler).
  virtual void handle(Exchange& exchange, const ModuleConf& conf) const;
  // A handler that streams the request body (the proxy) is called as soon as the head is in;
  // others only once the whole body has been read (and checked against client_max_body_size),
  // so they never answer a request that is about to be rejected.
  virtual bool streams_request_body() const { return false; }

  // Called for every module that has settings at the location, in module order, before the
  // response head is written.
  virtual void filter_headers(Exchange& /*exchange*/, Response& /*response*/,
                              const ModuleConf& /*conf*/) const {}

  // After every exchange that got a response (or was cut off), for every module with settings
  // at the request's location (its server's, when no location matched), in module order.
  virtual void log_exchange(const Request& /*request*/, const ExchangeLog& /*log*/,
                            const ModuleConf& /*conf*/) const {}
  // Log files this module writes (the agent rotates them).
  virtual void log_files(const Config& /*config*/,
                         std::vector<std::filesystem::path>& /*out*/) const {}
  // USR1 / rotation: reopen this worker's log files at their configured paths.
  virtual void reopen_logs(WorkerContext& /*worker*/) const {}
  // A message for this module from another process (e.g. health state from the agent).
  virtual void on_broadcast(WorkerContext& /*worker*/, std::string_view /*topic*/,
                            std::string_view /*payload*/) const {}

  virtual void init_master(const Config& /*config*/) const {}
  virtual void init_worker(WorkerContext& /*worker*/) const {}
  virtual void exit_worker(WorkerContext& /*worker*/) const {}
};

// The ordered list of modules; a module's index in it is where its settings live in
// ModuleConfs. The loader sees it as the ConfigModuleList it is.
class ModuleList : public ConfigModuleList {
 public:
  explicit ModuleList(std::vector<const Module*> modules)
      : ConfigModuleList({modules.begin(), modules.end()}), modules_(std::move(modules)) {}
  const Module& operator[](std::size_t i) const { return *modules_[i]; }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<const Module*> modules_;
};

}  // namespace serverd
