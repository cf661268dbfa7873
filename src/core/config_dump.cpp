// `serverd -T`: the effective config as TOML, every default written out, in the order of the
// documented example (toml++'s own writer would sort keys alphabetically).
#include <sstream>

#include "core/config_build.hpp"
#include "core/config_loader.hpp"
#include "tls/tls_context.hpp"

namespace serverd {
namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          const auto u = static_cast<unsigned char>(c);
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
  return out;
}

std::string key_text(std::string_view key) {
  if (key.empty()) return quote(key);
  for (char c : key) {
    const bool bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    if (!bare) return quote(key);
  }
  return std::string(key);
}

std::string bool_text(bool b) {
  return b ? "true" : "false";
}

// Any TOML value on one line, so that module settings fit under their block's header.
std::string inline_value(const toml::node& node) {
  if (const auto* s = node.as_string()) return quote(s->get());
  if (const auto* b = node.as_boolean()) return bool_text(b->get());
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* a = node.as_array()) {
    std::string out = "[";
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (k > 0) out += ", ";
      out += inline_value(*a->get(k));
    }
    return out + "]";
  }
  if (const auto* t = node.as_table()) {
    if (t->empty()) return "{}";
    std::string out = "{ ";
    bool first = true;
    for (auto&& [k, v] : *t) {
      if (!first) out += ", ";
      first = false;
      out += key_text(k.str()) + " = " + inline_value(v);
    }
    return out + " }";
  }
  // Floats, dates and times: toml++ writes these exactly.
  std::ostringstream os;
  os << toml::toml_formatter(node, toml::format_flags::none);
  return os.str();
}

class Writer {
 public:
  void line(std::string_view text) {
    out_ += indent_;
    out_ += text;
    out_ += '\n';
  }
  void blank() { out_ += '\n'; }
  void kv(std::string_view key, std::string_view value) {
    line(key_text(key) + " = " + std::string(value));
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
void dump_modules(const ModuleConfs& confs, const ModuleConfs* parent, const ModuleList& modules,
                  Writer& w) {
  for (std::size_t i = 0; i < modules.size() && i < confs.size(); ++i) {
    const ModuleConfPtr& conf = confs[i];
    if (conf == nullptr) continue;
    if (parent != nullptr && i < parent->size() && (*parent)[i] == conf) continue;
    toml::table out;
    modules[i].dump(*conf, out);
    for (auto&& [k, v] : out) w.kv(k.str(), inline_value(v));
  }
}

void dump_main(const Config& c, const ModuleList& modules, Writer& w) {
  const MainConfig& m = c.main;
  w.line("[main]");
  w.kv("worker_processes",
       m.worker_processes == 0 ? quote("auto") : std::to_string(m.worker_processes));
  w.kv("worker_connections", std::to_string(m.worker_connections));
  if (m.worker_rlimit_nofile) {
    w.kv("worker_rlimit_nofile", std::to_string(*m.worker_rlimit_nofile));
  } else {
    w.line("# worker_rlimit_nofile: not set (the inherited limit applies)");
  }
  w.kv("worker_cpu_affinity", bool_text(m.worker_cpu_affinity));
  if (!m.user.empty()) {
    w.kv("user", quote(m.user));
  } else {
    w.line("# user: not set (no user switch)");
  }
  w.kv("pid_file", quote(m.pid_file.string()));
  w.kv("daemon", bool_text(m.daemon));
  w.kv("shutdown_timeout", quote(format_duration(m.shutdown_timeout)));
  w.kv("upgrade_timeout", quote(format_duration(m.upgrade_timeout)));
  w.kv("max_draining_generations", std::to_string(m.max_draining_generations));
  w.kv("tls_ticket_key_rotation", quote(format_duration(m.tls_ticket_key_rotation)));
  dump_modules(c.modules, nullptr, modules, w);
}

void dump_log(const LogConfig& log, Writer& w) {
  w.line("[log]");
  w.kv("error_log", quote(log.error_log));
  w.kv("level", quote(log.level));
  if (!log.rotate.enabled) return;
  const LogRotateConfig& r = log.rotate;
  w.blank();
  w.line("[log.rotate]");
  if (r.max_size) w.kv("max_size", quote(format_size(*r.max_size)));
  const char* interval = r.interval == LogRotateConfig::Interval::hourly  ? "hourly"
                         : r.interval == LogRotateConfig::Interval::daily ? "daily"
                                                                          : "never";
  w.kv("interval", quote(interval));
  w.kv("keep", std::to_string(r.keep));
  w.kv("compress", bool_text(r.compress));
}

void dump_upstream(const UpstreamConfig& up, Writer& w) {
  w.line("[[upstream]]");
  w.kv("name", quote(up.name));
  w.kv("balance", quote(up.balance));
  if (up.balance == "hash") w.kv("hash_key", quote(up.hash_key));
  w.kv("keepalive", std::to_string(up.keepalive));
  if (up.health_check) {
    const HealthCheckConfig& h = *up.health_check;
    std::string line = "health_check = { path = " + quote(h.path) + ", interval = " +
                       quote(format_duration(h.interval)) + ", timeout = " +
                       quote(format_duration(h.timeout)) + ", rise = " + std::to_string(h.rise) +
                       ", fall = " + std::to_string(h.fall);
    if (!h.statuses.empty()) {
      line += ", status = [";
      for (std::size_t i = 0; i < h.statuses.size(); ++i)
        line += (i ? ", " : "") + std::to_string(h.statuses[i]);
      line += "]";
    }
    w.line(line + " }");
  }
  w.line("servers = [");
  for (const UpstreamServerConfig& s : up.servers) {
    w.line("  { address = " + quote(s.address.to_string()) + ", weight = " +
           std::to_string(s.weight) + ", max_fails = " + std::to_string(s.max_fails) +
           ", fail_timeout = " + quote(format_duration(s.fail_timeout)) +
           ", backup = " + bool_text(s.backup) + " },");
  }
  w.line("]");
}

void dump_tls(const TlsServerConfig& t, Writer& w) {
  std::string protocols = "[";
  for (std::size_t i = 0; i < t.protocols.size(); ++i)
    protocols += (i ? ", " : "") + quote(t.protocols[i]);
  protocols += "]";
  std::string line = "tls = { certificate = " + quote(t.certificate.string()) +
                     ", key = " + quote(t.key.string()) + ", protocols = " + protocols;
  line += ", ciphers = " + quote(t.ciphers.empty() ? kDefaultTlsCiphers : t.ciphers);
  line += ", ciphersuites = " +
          quote(t.ciphersuites.empty() ? kDefaultTlsCiphersuites : t.ciphersuites);
  line += ", curves = " + quote(t.curves.empty() ? kDefaultTlsCurves : t.curves);
  if (!t.ocsp_response.empty()) line += ", ocsp_response = " + quote(t.ocsp_response.string());
  if (!t.client_certificate.empty())
    line += ", client_certificate = " + quote(t.client_certificate.string());
  line += ", verify_client = ";
  line += t.verify_client == TlsServerConfig::VerifyClient::on         ? "\"on\""
          : t.verify_client == TlsServerConfig::VerifyClient::optional ? "\"optional\""
                                                                       : "\"off\"";
  line += ", verify_depth = " + std::to_string(t.verify_depth);
  line += ", handshake_timeout = " + quote(format_duration(t.handshake_timeout)) + " }";
  w.line(line);
}

void dump_server(const Config& c, const ServerConfig& s, const ModuleList& modules, Writer& w) {
  w.line("[[server]]");
  w.line("listen = [");
  for (const ListenConfig& l : s.listen) {
    w.line("  { address = " + quote(l.address.to_string()) + ", tls = " + bool_text(l.tls) +
           ", reuseport = " + bool_text(l.reuseport) + ", backlog = " + std::to_string(l.backlog) +
           ", default_server = " + bool_text(l.default_server) + " },");
  }
  w.line("]");
  std::string names = "[";
  for (std::size_t i = 0; i < s.server_names.size(); ++i) {
    if (i > 0) names += ", ";
    names += quote(s.server_names[i]);
  }
  w.kv("server_name", names + "]");
  const HttpLimits& l = s.limits;
  w.kv("client_max_body_size", quote(format_size(l.client_max_body_size)));
  w.kv("max_uri_length", quote(format_size(l.max_uri_length)));
  w.kv("max_header_size", quote(format_size(l.max_header_size)));
  w.kv("client_header_timeout", quote(format_duration(l.client_header_timeout)));
  w.kv("client_body_timeout", quote(format_duration(l.client_body_timeout)));
  w.kv("keepalive_timeout", quote(format_duration(l.keepalive_timeout)));
  w.kv("send_timeout", quote(format_duration(l.send_timeout)));
  w.kv("keepalive_requests", std::to_string(l.keepalive_requests));
  if (s.tls) dump_tls(*s.tls, w);
  dump_modules(s.modules, &c.modules, modules, w);
  for (const LocationConfig& loc : s.locations) {
    w.blank();
    w.set_indent("  ");
    w.line("[[server.location]]");
    w.kv("path", quote(loc.path));
    w.kv("match", quote(match_name(loc.match)));
    w.kv("client_max_body_size", quote(format_size(loc.client_max_body_size)));
    dump_modules(loc.modules, &s.modules, modules, w);
    w.set_indent("");
  }
}

}  // namespace

std::string dump_config(const Config& config, const ModuleList& modules) {
  Writer w;
  w.line("# serverd effective configuration (serverd -T)");
  w.blank();
  dump_main(config, modules, w);
  w.blank();
  dump_log(config.log, w);
  for (const UpstreamConfig& up : config.upstreams) {
    w.blank();
    dump_upstream(up, w);
  }
  for (const ServerConfig& s : config.servers) {
    w.blank();
    dump_server(config, s, modules, w);
  }
  return w.take();
}

}  // namespace serverd
