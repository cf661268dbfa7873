// `serverd -T`: the effective config as TOML, every default written out, generated from the
// directive rows: core's in the order of the documented example, each module's keys sorted by
// name (as they have always been written).
#include <algorithm>

#include "core/config_build.hpp"
#include "core/config_core_rows.hpp"
#include "core/config_loader.hpp"

namespace serverd {
namespace {

class Writer {
 public:
  void line(std::string_view text) {
    out_ += indent_;
    out_ += text;
    out_ += '\n';
  }
  void blank() { out_ += '\n'; }
  void rows(const DumpOut& out) {
    for (const DumpOut::Item& item : out.items()) line(out.line(item));
  }
  void rows(DirectiveTable table, const void* target) {
    DumpOut out;
    dump_rows(table, target, out);
    rows(out);
  }
  void set_indent(std::string indent) { indent_ = std::move(indent); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string indent_;
};

// Module settings of one block; only those that differ from the enclosing block's, so that
// inherited settings stay inherited (and a location's content handler stays implicit) when
// the dump is loaded back.
void dump_modules(const ModuleConfs& confs, const ModuleConfs* parent,
                  const ConfigModuleList& modules, Writer& w) {
  for (std::size_t i = 0; i < modules.size() && i < confs.size(); ++i) {
    const ModuleConfPtr& conf = confs[i];
    if (conf == nullptr) continue;
    if (parent != nullptr && i < parent->size() && (*parent)[i] == conf) continue;
    DumpOut out;
    modules[i].dump(*conf, out);
    std::vector<const DumpOut::Item*> items;
    for (const DumpOut::Item& item : out.items()) items.push_back(&item);
    std::stable_sort(items.begin(), items.end(),
                     [](const auto* a, const auto* b) { return a->key < b->key; });
    for (const DumpOut::Item* item : items) w.line(out.line(*item));
  }
}

void dump_server(const Config& c, const ServerConfig& s, const ConfigModuleList& modules,
                 Writer& w) {
  w.line("[[server]]");
  w.rows(core_directives(ConfigLevel::server), &s);
  dump_modules(s.modules, &c.modules, modules, w);
  for (const LocationConfig& loc : s.locations) {
    w.blank();
    w.set_indent("  ");
    w.line("[[server.location]]");
    w.rows(core_directives(ConfigLevel::location), &loc);
    dump_modules(loc.modules, &s.modules, modules, w);
    w.set_indent("");
  }
}

}  // namespace

std::string dump_config(const Config& config, const ConfigModuleList& modules) {
  Writer w;
  w.line("# serverd effective configuration (serverd -T)");
  w.blank();
  w.line("[main]");
  w.rows(core_directives(ConfigLevel::main), &config.main);
  dump_modules(config.modules, nullptr, modules, w);
  w.blank();
  w.line("[log]");
  w.rows(log_directives(), &config.log);
  if (config.log.rotate.enabled) {
    w.blank();
    w.line("[log.rotate]");
    w.rows(log_rotate_directives(), &config.log.rotate);
  }
  for (const UpstreamConfig& up : config.upstreams) {
    w.blank();
    w.line("[[upstream]]");
    w.rows(upstream_directives(), &up);
  }
  for (const ServerConfig& s : config.servers) {
    w.blank();
    dump_server(config, s, modules, w);
  }
  return w.take();
}

}  // namespace serverd
