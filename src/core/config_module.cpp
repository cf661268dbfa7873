#include "core/config_module.hpp"

namespace serverd {

ModuleConfPtr ConfigModule::configure(ConfigLevel level, const toml::table& block,
                                      const ModuleConfPtr& parent, ConfigContext& ctx) const {
  const DirectiveTable rows = directives();
  bool at_level = false;
  bool any = false;
  for (const Directive& row : rows) {
    at_level = at_level || has_level(row.levels, level);
    any = any || block.contains(row.name);
  }
  // A module with no key at this level has no settings here (a key written anyway is already
  // an error of the block's key check).
  if (level == ConfigLevel::main && !at_level) return nullptr;
  if (!any) return level == ConfigLevel::main ? main_defaults() : parent;
  std::shared_ptr<ModuleConf> conf = create(level, parent.get());
  ModuleConf* target = conf.get();
  reset_rows(rows, target);
  const std::size_t errors_before = ctx.errors().size();
  parse_rows(rows, target, block, ctx, {});
  if (!finish(level, *conf, block, ctx, ctx.errors().size() != errors_before)) return parent;
  return conf;
}

void ConfigModule::dump(const ModuleConf& conf, DumpOut& out) const {
  dump_rows(directives(), static_cast<const void*>(&conf), out);
}

void ConfigModule::dump(const ModuleConf& conf, toml::table& out) const {
  DumpOut rows;
  dump(conf, rows);
  for (const DumpOut::Item& item : rows.items()) {
    if (item.value == DumpOut::kNone) continue;
    rows.values().get(item.value)->visit([&](auto&& v) { out.insert_or_assign(item.key, v); });
  }
}

int ConfigModuleList::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < config_modules_.size(); ++i)
    if (config_modules_[i]->name() == name) return static_cast<int>(i);
  return -1;
}

}  // namespace serverd
