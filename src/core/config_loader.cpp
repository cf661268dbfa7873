#include "core/config_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/config_build.hpp"
#include "core/config_core_rows.hpp"
#include "core/toml_types.hpp"
#include "core/unique_fd.hpp"

namespace serverd {
namespace {

constexpr std::array<std::string_view, 4> kTopLevelKeys{"main", "log", "upstream", "server"};
void load_main(const toml::table& root, LoadState& st) {
  MainConfig& main = st.config.main;
  ConfigContext& ctx = st.ctx;
  main.pid_file = ctx.resolve_path("serverd.pid");
  const toml::table empty;
  const toml::table* t = table_at(root, "main", ctx);
  if (t != nullptr) {
    main.pos = ctx.pos(*t);
    check_keys(*t, "in [main]", st.keys.allowed(ConfigLevel::main), ctx, &st.keys);
    parse_rows(core_directives(ConfigLevel::main), &main, *t, ctx, "in [main]");
  }
  // Modules see an empty [main] rather than none, so their main-level defaults always exist.
  st.config.modules = configure_modules(ConfigLevel::main, t != nullptr ? *t : empty,
                                        ModuleConfs(st.modules.size()), st);
}

void load_log(const toml::table& root, LoadState& st) {
  const toml::table* t = table_at(root, "log", st.ctx);
  if (t == nullptr) return;
  ConfigContext& ctx = st.ctx;
  LogConfig& log = st.config.log;
  check_keys(*t, "in [log]", log_directives(), ctx);
  parse_rows(log_directives(), &log, *t, ctx, "in [log]");
  const toml::table* rotate = table_at(*t, "rotate", ctx);
  if (rotate == nullptr) return;
  log.rotate.enabled = true;
  check_keys(*rotate, "in [log.rotate]", log_rotate_directives(), ctx);
  parse_rows(log_rotate_directives(), &log.rotate, *rotate, ctx, "in [log.rotate]");
}

LoadResult build(const toml::table& root, const std::string& file_name,
                 const std::filesystem::path& base_dir, const ConfigModuleList& modules) {
  LoadResult result;
  auto config = std::make_shared<Config>();
  config->file = file_name;
  config->base_dir = base_dir;
  ConfigContext ctx(file_name, base_dir, result.errors);
  const KeyCatalog keys(modules);
  LoadState st{ctx, modules, keys, *config};

  check_keys(root, "at the top level", kTopLevelKeys, ctx, &keys);
  load_main(root, st);
  load_log(root, st);
  load_upstreams(root, st);
  load_servers(root, st);
  check_listeners(st);
  for (const ConfigModule* m : modules) {
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
                                          ConfigContext& ctx, std::string_view path) {
  std::vector<const toml::table*> out;
  const toml::node* node = parent.get(key);
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  if (array == nullptr) {
    // The classic slip: [server] instead of [[server]].
    ctx.error(*node, "\"" + std::string(key) + "\" must be an array of tables (write [[" +
                         std::string(path.empty() ? key : path) + "]]), not " +
                         std::string(a_type_name(*node)));
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
    const ConfigModule& m = st.modules[i];
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
                            const std::filesystem::path& base_dir,
                            const ConfigModuleList& modules) {
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

LoadResult load_config_file(const std::string& path, const ConfigModuleList& modules) {
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
