#pragma once
// `static`: serves files from `root` / `alias` (nginx's static + index modules, no autoindex).
//
//   root = "html"              server|location  files at <root><uri>
//   alias = "/data/images/"    location         the location's prefix replaced by the alias
//   index = ["index.html"]     server|location  tried in order for a directory URI ending '/'
//   default_type = "..."       main|server|location  Content-Type for unknown extensions
//
// GET and HEAD only; conditional requests (ETag / Last-Modified) and single byte ranges. The
// body is the open file descriptor, sent by the core with sendfile.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http/module.hpp"

namespace serverd {

struct StaticConf : ModuleConf {
  // Absolute and lexically normalised. root has no trailing '/' ("" is the file system root);
  // alias keeps what was written, since "/img/" -> "/data/" and "/img/" -> "/data" differ.
  std::optional<std::string> root;
  std::optional<std::string> alias;
  SourcePos alias_pos;
  std::vector<std::string> index{"index.html"};
  std::string default_type = "application/octet-stream";
  // Where these settings were created: `index` is written back only where it is allowed.
  ConfigLevel level = ConfigLevel::main;
};

class StaticModule : public Module {
 public:
  std::string_view name() const override { return "static"; }
  DirectiveTable directives() const override;
  std::shared_ptr<ModuleConf> create(ConfigLevel level, const ModuleConf* parent) const override;
  bool finish(ConfigLevel level, ModuleConf& conf, const toml::table& block, ConfigContext& ctx,
              bool had_errors) const override;
  void validate(const Config& config, ConfigContext& ctx) const override;

  bool is_content_handler() const override { return true; }
  bool handles(const ModuleConf& conf) const override;
  void handle(Exchange& exchange, const ModuleConf& conf) const override;
};

}  // namespace serverd
