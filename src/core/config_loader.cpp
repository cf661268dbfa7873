#include "core/config_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/config_build.hpp"
#include "core/log.hpp"
#include "core/toml_types.hpp"
#include "core/unique_fd.hpp"

namespace serverd {
namespace {

constexpr std::array<std::string_view, 4> kTopLevelKeys{"main", "log", "upstream", "server"};
constexpr std::array<std::string_view, 3> kLogKeys{"error_log", "level", "rotate"};
constexpr std::array<std::string_view, 4> kRotateKeys{"max_size", "interval", "keep", "compress"};

void load_worker_processes(const toml::table& t, LoadState& st) {
  const toml::node* node = t.get("worker_processes");
  if (node == nullptr) return;
  if (const auto* s = node->as_string()) {
    if (s->get() == "auto") {
      st.config.main.worker_processes = 0;
    } else {
      st.ctx.error(*node, "invalid value \"" + s->get() +
                              "\" for \"worker_processes\" (expected \"auto\" or 1..1024)");
    }
  } else if (node->is_integer()) {
    if (auto n = st.ctx.get_integer(t, "worker_processes", 1, 1024))
      st.config.main.worker_processes = static_cast<int>(*n);
  } else {
    st.ctx.error(*node, "\"worker_processes\" must be \"auto\" or an integer, not " +
                            std::string(a_type_name(*node)));
  }
}

void load_cpu_affinity(const toml::table& t, LoadState& st) {
  const toml::node* node = t.get("worker_cpu_affinity");
  if (node == nullptr) return;
  if (node->is_boolean()) {
    st.config.main.worker_cpu_affinity = *node->value<bool>();
  } else if (!node->is_string()) {
    st.ctx.error(*node, "\"worker_cpu_affinity\" must be \"auto\", \"off\" or a boolean, not " +
                            std::string(a_type_name(*node)));
  } else if (auto v = st.ctx.get_enum(t, "worker_cpu_affinity", {"auto", "off"})) {
    st.config.main.worker_cpu_affinity = *v == "auto";
  }
}

void load_main(const toml::table& root, LoadState& st) {
  MainConfig& main = st.config.main;
  ConfigContext& ctx = st.ctx;
  main.pid_file = ctx.resolve_path("serverd.pid");
  const toml::table empty;
  const toml::table* t = table_at(root, "main", ctx);
  if (t != nullptr) {
    main.pos = ctx.pos(*t);
    check_keys(*t, "in [main]", st.keys.allowed(ConfigLevel::main), ctx, &st.keys);
    load_worker_processes(*t, st);
    if (auto v = ctx.get_integer(*t, "worker_connections", 1, 1'048'576))
      main.worker_connections = static_cast<int>(*v);
    if (auto v = ctx.get_integer(*t, "worker_rlimit_nofile", 1,
                                 std::numeric_limits<std::int64_t>::max()))
      main.worker_rlimit_nofile = static_cast<std::uint64_t>(*v);
    load_cpu_affinity(*t, st);
    if (auto v = ctx.get_string(*t, "user")) main.user = *v;
    if (auto v = ctx.get_string(*t, "pid_file")) {
      if (v->empty()) {
        ctx.error(*t->get("pid_file"), "\"pid_file\" must not be empty");
      } else {
        main.pid_file = ctx.resolve_path(*v);
      }
    }
    if (auto v = ctx.get_bool(*t, "daemon")) main.daemon = *v;
    if (auto v = ctx.get_duration(*t, "shutdown_timeout")) main.shutdown_timeout = *v;
    if (auto v = ctx.get_duration(*t, "upgrade_timeout")) main.upgrade_timeout = *v;
    if (auto v = ctx.get_integer(*t, "max_draining_generations", 1, 64))
      main.max_draining_generations = static_cast<int>(*v);
    if (auto v = ctx.get_duration(*t, "tls_ticket_key_rotation")) {
      if (v->count() < 1000) {
        ctx.error(*t->get("tls_ticket_key_rotation"),
                  "\"tls_ticket_key_rotation\" must be at least 1s");
      } else {
        main.tls_ticket_key_rotation = *v;
      }
    }
  }
  // Modules see an empty [main] rather than none, so their main-level defaults always exist.
  st.config.modules = configure_modules(ConfigLevel::main, t != nullptr ? *t : empty,
                                        ModuleConfs(st.modules.size()), st);
}

void load_rotate(const toml::table& log, LoadState& st) {
  const toml::table* t = table_at(log, "rotate", st.ctx);
  if (t == nullptr) return;
  ConfigContext& ctx = st.ctx;
  LogRotateConfig& rotate = st.config.log.rotate;
  rotate.enabled = true;
  check_keys(*t, "in [log.rotate]", kRotateKeys, ctx);
  if (auto v = ctx.get_size(*t, "max_size")) rotate.max_size = *v;
  if (auto v = ctx.get_enum(*t, "interval", {"never", "hourly", "daily"})) {
    rotate.interval = *v == "hourly"  ? LogRotateConfig::Interval::hourly
                      : *v == "daily" ? LogRotateConfig::Interval::daily
                                      : LogRotateConfig::Interval::never;
  }
  if (auto v = ctx.get_integer(*t, "keep", 0, std::numeric_limits<int>::max()))
    rotate.keep = static_cast<int>(*v);
  if (auto v = ctx.get_bool(*t, "compress")) rotate.compress = *v;
}

// "syslog:server=..." is a target, not a path: checked here, kept as written.
std::string load_syslog_target(const std::string& value, const toml::node& node,
                               ConfigContext& ctx) {
  if (auto error = syslog_target_error(value); !error.empty())
    ctx.error(node, "invalid error_log \"" + value + "\": " + error);
  return value;
}

void load_log(const toml::table& root, LoadState& st) {
  const toml::table* t = table_at(root, "log", st.ctx);
  if (t == nullptr) return;
  ConfigContext& ctx = st.ctx;
  LogConfig& log = st.config.log;
  check_keys(*t, "in [log]", kLogKeys, ctx);
  if (auto v = ctx.get_string(*t, "error_log")) {
    if (v->empty()) {
      ctx.error(*t->get("error_log"), "\"error_log\" must be \"stderr\" or a path, not empty");
    } else {
      log.error_log = *v == "stderr"              ? *v
                      : v->starts_with("syslog:") ? load_syslog_target(*v, *t->get("error_log"), ctx)
                                                  : ctx.resolve_path(*v).string();
    }
  }
  if (auto v = ctx.get_enum(*t, "level", {"trace", "debug", "info", "warn", "error", "critical"}))
    log.level = *v;
  load_rotate(*t, st);
}

LoadResult build(const toml::table& root, const std::string& file_name,
                 const std::filesystem::path& base_dir, const ModuleList& modules) {
  LoadResult result;
  auto config = std::make_shared<Config>();
  config->file = file_name;
  config->base_dir = base_dir;
  ConfigContext ctx(file_name, base_dir, result.errors);
  const KeyCatalog keys(modules);
  LoadState st{ctx, modules, keys, *config, {}};

  check_keys(root, "at the top level", kTopLevelKeys, ctx, &keys);
  load_main(root, st);
  load_log(root, st);
  load_upstreams(root, st);
  load_servers(root, st);
  check_listeners(st);
  for (const Module* m : modules) {
    try {
      m->validate(*config, ctx);
    } catch (const std::exception& e) {
      result.errors.add(SourcePos{file_name, 0, 0},
                        "module " + std::string(m->name()) + ": " + e.what());
    }
  }
  result.main = config->main;
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace

const toml::table* table_at(const toml::table& parent, std::string_view key, ConfigContext& ctx) {
  const toml::node* node = parent.get(key);
  if (node == nullptr) return nullptr;
  if (const auto* t = node->as_table()) return t;
  ctx.error(*node,
            "\"" + std::string(key) + "\" must be a table, not " + std::string(a_type_name(*node)));
  return nullptr;
}

std::vector<const toml::table*> tables_at(const toml::table& parent, std::string_view key,
                                          ConfigContext& ctx) {
  std::vector<const toml::table*> out;
  const toml::node* node = parent.get(key);
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  if (array == nullptr) {
    // The classic slip: [server] instead of [[server]].
    ctx.error(*node, "\"" + std::string(key) + "\" must be an array of tables (write [[" +
                         std::string(key) + "]]), not " + std::string(a_type_name(*node)));
    return out;
  }
  for (const toml::node& item : *array) {
    if (const auto* t = item.as_table()) {
      out.push_back(t);
    } else {
      ctx.error(item, "each \"" + std::string(key) + "\" must be a table, not " +
                          std::string(a_type_name(item)));
    }
  }
  return out;
}

ModuleConfs configure_modules(ConfigLevel level, const toml::table& block,
                              const ModuleConfs& parent, LoadState& st) {
  ModuleConfs out(st.modules.size());
  for (std::size_t i = 0; i < st.modules.size(); ++i) {
    const Module& m = st.modules[i];
    const ModuleConfPtr& inherited = i < parent.size() ? parent[i] : nullptr;
    try {
      out[i] = m.configure(level, block, inherited, st.ctx);
    } catch (const std::exception& e) {
      // A module bug must still come out as a config error, never as a crashed reload.
      st.ctx.error(block, "module " + std::string(m.name()) + ": " + e.what());
      out[i] = inherited;
    }
  }
  return out;
}

LoadResult load_config_text(std::string_view text, const std::string& file_name,
                            const std::filesystem::path& base_dir, const ModuleList& modules) {
  const std::filesystem::path abs_base = std::filesystem::absolute(base_dir).lexically_normal();
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    LoadResult result;
    result.errors.add(SourcePos{file_name, static_cast<int>(e.source().begin.line),
                                static_cast<int>(e.source().begin.column)},
                      std::string(e.description()));
    result.main.pid_file = abs_base / "serverd.pid";
    return result;
  }
#else
  toml::parse_result parsed = toml::parse(text, std::string_view(file_name));
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    LoadResult result;
    result.errors.add(SourcePos{file_name, static_cast<int>(e.source().begin.line),
                                static_cast<int>(e.source().begin.column)},
                      std::string(e.description()));
    result.main.pid_file = abs_base / "serverd.pid";
    return result;
  }
  toml::table root = std::move(parsed).table();
#endif
  return build(root, file_name, abs_base, modules);
}

LoadResult load_config_file(const std::string& path, const ModuleList& modules) {
  auto cannot = [&](std::string_view what) {
    LoadResult result;
    result.errors.add(SourcePos{path, 0, 0}, std::string(what) + ": " + std::strerror(errno));
    return result;
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return cannot("cannot open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return cannot("cannot open");
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return cannot("cannot open");
  }
  std::string text;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannot("cannot read");
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  return load_config_text(text, path, base, modules);
}

}  // namespace serverd
