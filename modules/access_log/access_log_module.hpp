#pragma once
// `access_log`: one line per exchange, nginx-style, written by each worker to its own buffered
// O_APPEND descriptor (see log_writer.hpp).
//
//   access_log = "logs/access.log"    # relative to the config's directory, or "off" (default)
//   access_log_format = "combined"    # "combined" (default), "json", or a template with
//                                     # variables (log_format.hpp)
//   access_log_buffer = "64KiB"       # per worker and file; "0" writes every line at once
//   access_log_flush = "1s"           # no line waits longer than this in a buffer
//
// At server and location level; a location inherits its server's settings and may override any
// of them ("off" turns logging off there). When several blocks write the same file with
// different buffer/flush settings, the file gets the largest buffer and the shortest interval.
//
// Per-worker state: the module hooks get no WorkerContext in log_exchange(), so each block's
// settings carry a small binding that init_worker() points at this worker's writers (state owned
// by the WorkerContext) and exit_worker() clears. Nothing is written in a process that did not
// run init_worker() (the master, tests).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/units.hpp"
#include "http/module.hpp"
#include "modules/access_log/log_format.hpp"

namespace serverd {

class AccessLogRuntime;
class LogWriter;

// Where a block's lines go in the current worker (null outside workers).
struct AccessLogBinding {
  AccessLogRuntime* runtime = nullptr;
  LogWriter* writer = nullptr;
};

struct AccessLogConf : ModuleConf {
  bool off = true;
  std::filesystem::path path;  // absolute, lexically normal; empty when off
  std::shared_ptr<const LogFormat> format;
  std::uint64_t buffer_size = 64 * 1024;
  Duration flush{1000};
  std::shared_ptr<AccessLogBinding> binding = std::make_shared<AccessLogBinding>();
};

class AccessLogModule : public Module {
 public:
  std::string_view name() const override { return "access_log"; }
  DirectiveTable directives() const override;
  std::shared_ptr<ModuleConf> create(ConfigLevel level, const ModuleConf* parent) const override;
  bool finish(ConfigLevel level, ModuleConf& conf, const toml::table& block, ConfigContext& ctx,
              bool had_errors) const override;

  void log_exchange(const Request& request, const ExchangeLog& log,
                    const ModuleConf& conf) const override;
  void log_files(const Config& config, std::vector<std::filesystem::path>& out) const override;
  void reopen_logs(WorkerContext& worker) const override;
  void init_worker(WorkerContext& worker) const override;
  void exit_worker(WorkerContext& worker) const override;
};

// Every distinct access_log path of a config, in order of appearance.
std::vector<std::filesystem::path> access_log_paths(const Config& config);

}  // namespace serverd
