#include "modules/access_log/access_log_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/directive_rows.hpp"
#include "event/loop.hpp"
#include "http/exchange.hpp"
#include "modules/access_log/access_log_runtime.hpp"
#include "process/worker_context.hpp"

namespace serverd {
namespace {

std::shared_ptr<const LogFormat> combined_format() {
  auto f = compile_log_format("combined", nullptr);
  return std::make_shared<const LogFormat>(std::move(*f));
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// The position of byte `offset` of a string value: exact for a one-line string without escapes
// (its source is exactly the text between two quotes), else the value's own position.
SourcePos position_in_string(const toml::node& node, std::string_view text, std::size_t offset,
                             ConfigContext& ctx) {
  SourcePos pos = ctx.pos(node);
  const toml::source_region& r = node.source();
  if (r.begin.line == r.end.line && r.end.column > r.begin.column &&
      r.end.column - r.begin.column == code_points(text) + 2) {
    pos.col += 1 + static_cast<int>(code_points(text.substr(0, std::min(offset, text.size()))));
  }
  return pos;
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

void parse_access_log(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto& conf = static_cast<AccessLogConf&>(*static_cast<ModuleConf*>(t));
  auto text = ctx.read_string(node, row.name);
  if (!text) return;
  if (*text == "off") {
    conf.off = true;
    conf.path.clear();
  } else if (text->starts_with("syslog:")) {
    // Not silently a file named "syslog:...": the error log can go to syslog, this cannot.
    ctx.error(node,
              "`access_log` cannot go to syslog (only `error_log` can); use a file "
              "path or \"off\"");
  } else if (text->empty() || has_control_chars(*text) || text->back() == '/') {
    ctx.error(node, "`access_log` must be a file path or \"off\"");
  } else {
    conf.off = false;
    conf.path = ctx.resolve_path(*text).lexically_normal();
  }
}

void dump_access_log(const Directive& row, const void* t, DumpOut& out) {
  const auto& conf = static_cast<const AccessLogConf&>(*static_cast<const ModuleConf*>(t));
  out.put(row.name, conf.off ? std::string("off") : conf.path.string());
}

void parse_format(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto text = ctx.read_string(node, row.name);
  if (!text) return;
  LogFormatError error;
  if (auto format = compile_log_format(*text, &error)) {
    rows::field<&AccessLogConf::format>(t) = std::make_shared<const LogFormat>(std::move(*format));
  } else {
    ctx.errors().add(position_in_string(node, *text, error.offset, ctx),
                     "invalid `access_log_format`: " + error.message);
  }
}

void dump_format(const Directive& row, const void* t, DumpOut& out) {
  const auto& format = rows::field<&AccessLogConf::format>(t);
  out.put(row.name, format ? format->text : std::string("combined"));
}

constexpr unsigned kServerOrLocation = ConfigLevel::server | ConfigLevel::location;
constexpr std::int64_t kMaxBuffer = 64LL * 1024 * 1024;

constexpr Directive kRows[] = {
    rows::custom("access_log", kServerOrLocation, parse_access_log, dump_access_log),
    rows::custom("access_log_format", kServerOrLocation, parse_format, dump_format),
    rows::size<&AccessLogConf::buffer_size>("access_log_buffer", kServerOrLocation)
        .limits(0, kMaxBuffer, "`access_log_buffer` must be at most 64MiB"),
    rows::duration<&AccessLogConf::flush>("access_log_flush", kServerOrLocation)
        .limits(1, INT64_MAX, "`access_log_flush` must be at least 1ms"),
};

}  // namespace

// --- runtime ------------------------------------------------------------------------------------

AccessLogRuntime::AccessLogRuntime(TimerQueue& timers, const Config& config) {
  struct Settings {
    std::filesystem::path path;
    std::uint64_t buffer = 0;
    Duration flush{0};
  };
  std::vector<Settings> files;
  for_each_access_log_conf(config, [&](const AccessLogConf& c) {
    if (c.off) return;
    auto it = std::find_if(files.begin(), files.end(), [&](auto& f) { return f.path == c.path; });
    if (it == files.end()) {
      files.push_back({c.path, c.buffer_size, c.flush});
    } else {
      it->buffer = std::max(it->buffer, c.buffer_size);
      it->flush = std::min(it->flush, c.flush);
    }
  });
  line.reserve(1024);
  for (const auto& f : files)
    writers_.push_back(
        std::make_unique<LogWriter>(timers, f.path, static_cast<std::size_t>(f.buffer), f.flush));
  for_each_access_log_conf(config, [&](const AccessLogConf& c) {
    if (c.off) return;
    for (const auto& w : writers_) {
      if (w->path() != c.path) continue;
      c.binding->runtime = this;
      c.binding->writer = w.get();
      bound_.push_back(c.binding);
    }
  });
}

AccessLogRuntime::~AccessLogRuntime() {
  for (const auto& b : bound_) {
    if (b->runtime != this) continue;
    b->runtime = nullptr;
    b->writer = nullptr;
  }
  // writers_ flush in their destructors
}

void AccessLogRuntime::flush_all() {
  for (const auto& w : writers_) w->flush();
}

void AccessLogRuntime::reopen_all() {
  for (const auto& w : writers_) w->reopen();
}

// --- module -------------------------------------------------------------------------------------

DirectiveTable AccessLogModule::directives() const {
  return kRows;
}

std::shared_ptr<ModuleConf> AccessLogModule::create(ConfigLevel /*level*/,
                                                    const ModuleConf* parent) const {
  auto conf = inherit_or_default<AccessLogConf>(parent);
  conf->binding = std::make_shared<AccessLogBinding>();  // a block of its own
  if (!conf->format) conf->format = combined_format();
  return conf;
}

bool AccessLogModule::finish(ConfigLevel /*level*/, ModuleConf& /*conf*/,
                             const toml::table& /*block*/, ConfigContext& /*ctx*/,
                             bool /*had_errors*/) const {
  return true;
}

void AccessLogModule::log_exchange(const Request& request, const ExchangeLog& log,
                                   const ModuleConf& mc) const {
  const auto& conf = static_cast<const AccessLogConf&>(mc);
  if (conf.off) return;
  const AccessLogBinding& binding = *conf.binding;
  if (binding.runtime == nullptr || binding.writer == nullptr) return;
  AccessLogRuntime& rt = *binding.runtime;
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const std::int64_t epoch_ms =
      duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::int64_t elapsed_ms = 0;
  if (log.start != Clock::time_point{})
    elapsed_ms =
        std::max<std::int64_t>(0, duration_cast<milliseconds>(Clock::now() - log.start).count());
  const LogContext ctx{request, log, rt.time.at(epoch_ms), elapsed_ms};
  rt.line.clear();
  render_log_line(*conf.format, ctx, rt.line);
  rt.line.push_back('\n');
  binding.writer->append(rt.line);
}

std::vector<std::filesystem::path> access_log_paths(const Config& config) {
  std::vector<std::filesystem::path> paths;
  for_each_access_log_conf(config, [&](const AccessLogConf& c) {
    if (!c.off && std::find(paths.begin(), paths.end(), c.path) == paths.end())
      paths.push_back(c.path);
  });
  return paths;
}

void AccessLogModule::log_files(const Config& config,
                                std::vector<std::filesystem::path>& out) const {
  for (auto& p : access_log_paths(config))
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
}

void AccessLogModule::reopen_logs(WorkerContext& worker) const {
  if (auto* rt = worker.state<AccessLogRuntime>(this)) rt->reopen_all();
}

void AccessLogModule::init_worker(WorkerContext& worker) const {
  worker.set_state(this,
                   std::make_shared<AccessLogRuntime>(worker.loop().timers(), worker.config()));
}

void AccessLogModule::exit_worker(WorkerContext& worker) const {
  // The runtime's destructor unbinds every block and writes what is still buffered.
  worker.set_state(this, nullptr);
}

}  // namespace serverd
