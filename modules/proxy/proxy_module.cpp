#include "modules/proxy/proxy_module.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "core/units.hpp"
#include "http/exchange.hpp"
#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_request.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "process/worker_context.hpp"
#include "tls/tls_context.hpp"

namespace serverd {

namespace {
constexpr unsigned kServerOrLocation = ConfigLevel::server | ConfigLevel::location;
constexpr ConfigKey kKeys[] = {
    {"proxy_pass", static_cast<unsigned>(ConfigLevel::location), true},
    {"proxy_set_header", kServerOrLocation},
    {"proxy_hide_header", kServerOrLocation},
    {"proxy_connect_timeout", kServerOrLocation},
    {"proxy_read_timeout", kServerOrLocation},
    {"proxy_send_timeout", kServerOrLocation},
    {"proxy_next_upstream_tries", kServerOrLocation},
    {"proxy_buffer_size", kServerOrLocation},
    {"proxy_ssl_verify", kServerOrLocation},
    {"proxy_ssl_trusted_certificate", kServerOrLocation},
    {"proxy_ssl_server_name", kServerOrLocation},
    {"proxy_ssl_name", kServerOrLocation},
    {"proxy_ssl_certificate", kServerOrLocation},
    {"proxy_ssl_certificate_key", kServerOrLocation},
};

// The host of "host:port", "[v6]:port" or an upstream name.
std::string host_of(const std::string& authority) {
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    return authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return authority.substr(0, authority.rfind(':'));
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// proxy_pass "https://...": the client context, built while the config loads.
void configure_upstream_tls(const toml::table& block, ProxyConf& conf, ConfigContext& ctx) {
  const std::string host = conf.ssl_name.empty() ? host_of(conf.pass->authority) : conf.ssl_name;
  conf.tls_sni = conf.ssl_server_name && !is_ip_literal(host) ? host : std::string();
  conf.tls_verify_name = conf.ssl_verify ? host : std::string();
  TlsClientSettings settings;
  settings.verify = conf.ssl_verify;
  settings.trusted_certificate = conf.ssl_trusted_certificate;
  settings.certificate = conf.ssl_certificate;
  settings.key = conf.ssl_certificate_key;
  TlsBuildError error;
  conf.tls = TlsContext::build_client(settings, &error);
  if (!conf.tls) {
    const toml::node* at = block.get(error.key);
    ctx.error(at != nullptr ? *at : *block.get("proxy_pass"), error.message);
  }
}

bool valid_header_text(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}
}  // namespace

std::span<const ConfigKey> ProxyModule::keys() const { return kKeys; }

ModuleConfPtr ProxyModule::configure(ConfigLevel level, const toml::table& block,
                                     const ModuleConfPtr& parent, ConfigContext& ctx) const {
  if (level == ConfigLevel::main) return nullptr;
  bool any = false;
  for (const auto& k : kKeys) any = any || block.contains(k.name);
  if (!any) return parent;
  auto conf = parent ? std::make_shared<ProxyConf>(static_cast<const ProxyConf&>(*parent))
                     : std::make_shared<ProxyConf>();
  conf->pass.reset();  // proxy_pass is per location, never inherited
  if (auto text = ctx.get_string(block, "proxy_pass")) {
    std::string error;
    const toml::node* node = block.get("proxy_pass");
    if (auto target = parse_proxy_pass(*text, &error)) {
      conf->pass = std::move(*target);
      conf->pass_pos = ctx.pos(*node);
    } else {
      ctx.error(*node, "invalid proxy_pass \"" + *text + "\": " + error);
    }
  }
  if (const toml::node* node = block.get("proxy_set_header")) {
    if (const toml::table* t = node->as_table()) {
      for (const auto& [key, value] : *t) {
        const auto* s = value.as_string();
        if (!s || !valid_header_text(s->get()) || key.str().empty()) {
          ctx.error(value, "proxy_set_header \"" + std::string(key.str()) +
                               "\" must be a string without control characters");
          continue;
        }
        // A named copy: clang 14 cannot capture a structured binding.
        const std::string_view name = key.str();
        std::erase_if(conf->set_headers, [&](const auto& h) { return iequals(h.first, name); });
        conf->set_headers.emplace_back(std::string(key.str()), s->get());
      }
    } else {
      ctx.error(*node, "\"proxy_set_header\" must be a table of header = \"value\"");
    }
  }
  conf->compile_set_headers();
  if (auto hide = ctx.get_string_list(block, "proxy_hide_header")) conf->hide_headers = *hide;
  if (auto d = ctx.get_duration(block, "proxy_connect_timeout")) conf->connect_timeout = *d;
  if (auto d = ctx.get_duration(block, "proxy_read_timeout")) conf->read_timeout = *d;
  if (auto d = ctx.get_duration(block, "proxy_send_timeout")) conf->send_timeout = *d;
  if (auto n = ctx.get_integer(block, "proxy_next_upstream_tries", 0, 100))
    conf->next_upstream_tries = static_cast<int>(*n);
  if (auto b = ctx.get_size(block, "proxy_buffer_size")) {
    if (*b < 4096)
      ctx.error(*block.get("proxy_buffer_size"), "\"proxy_buffer_size\" must be at least 4KiB");
    else
      conf->buffer_size = *b;
  }
  if (auto v = ctx.get_bool(block, "proxy_ssl_verify")) conf->ssl_verify = *v;
  if (auto v = ctx.get_string(block, "proxy_ssl_trusted_certificate"))
    conf->ssl_trusted_certificate = ctx.resolve_path(*v);
  if (auto v = ctx.get_bool(block, "proxy_ssl_server_name")) conf->ssl_server_name = *v;
  if (auto v = ctx.get_string(block, "proxy_ssl_name")) conf->ssl_name = *v;
  if (auto v = ctx.get_string(block, "proxy_ssl_certificate"))
    conf->ssl_certificate = ctx.resolve_path(*v);
  if (auto v = ctx.get_string(block, "proxy_ssl_certificate_key"))
    conf->ssl_certificate_key = ctx.resolve_path(*v);
  if (conf->ssl_certificate.empty() != conf->ssl_certificate_key.empty()) {
    const char* key = conf->ssl_certificate.empty() ? "proxy_ssl_certificate_key"
                                                    : "proxy_ssl_certificate";
    if (const toml::node* node = block.get(key))
      ctx.error(*node, "\"proxy_ssl_certificate\" and \"proxy_ssl_certificate_key\" go together");
  }
  conf->tls.reset();
  if (conf->pass && conf->pass->scheme == "https") configure_upstream_tls(block, *conf, ctx);
  return conf;
}

void ProxyModule::validate(const Config& config, ConfigContext& ctx) const {
  for (const auto& server : config.servers) {
    for (const auto& loc : server.locations) {
      for (const auto& m : loc.modules) {
        const auto* conf = dynamic_cast<const ProxyConf*>(m.get());
        if (!conf || !conf->pass) continue;
        const ProxyTarget& t = *conf->pass;
        bool is_group = false;
        for (const auto& u : config.upstreams) is_group = is_group || u.name == t.authority;
        std::string error;
        if (!is_group && (t.authority.find(':') == std::string::npos ||
                          !parse_listen_address(t.authority, &error)))
          ctx.errors().add(conf->pass_pos, "proxy_pass \"" + t.scheme + "://" + t.authority +
                                               "\": no [[upstream]] of that name, and not a "
                                               "host:port address");
        if (t.has_uri && (loc.match == MatchKind::regex || loc.match == MatchKind::regex_icase))
          ctx.errors().add(conf->pass_pos,
                           "proxy_pass with a URI part cannot be used in a regex location");
      }
    }
  }
}

void ProxyModule::dump(const ModuleConf& c, toml::table& out) const {
  const auto& conf = static_cast<const ProxyConf&>(c);
  if (conf.pass)
    out.insert_or_assign("proxy_pass",
                         conf.pass->scheme + "://" + conf.pass->authority + conf.pass->uri);
  if (!conf.set_headers.empty()) {
    toml::table t;
    for (const auto& [k, v] : conf.set_headers) t.insert_or_assign(k, v);
    out.insert_or_assign("proxy_set_header", std::move(t));
  }
  if (!conf.hide_headers.empty()) {
    toml::array a;
    for (const auto& h : conf.hide_headers) a.push_back(h);
    out.insert_or_assign("proxy_hide_header", std::move(a));
  }
  out.insert_or_assign("proxy_connect_timeout", format_duration(conf.connect_timeout));
  out.insert_or_assign("proxy_read_timeout", format_duration(conf.read_timeout));
  out.insert_or_assign("proxy_send_timeout", format_duration(conf.send_timeout));
  out.insert_or_assign("proxy_next_upstream_tries", conf.next_upstream_tries);
  out.insert_or_assign("proxy_buffer_size", format_size(conf.buffer_size));
  out.insert_or_assign("proxy_ssl_verify", conf.ssl_verify);
  if (!conf.ssl_trusted_certificate.empty())
    out.insert_or_assign("proxy_ssl_trusted_certificate", conf.ssl_trusted_certificate.string());
  out.insert_or_assign("proxy_ssl_server_name", conf.ssl_server_name);
  if (!conf.ssl_name.empty()) out.insert_or_assign("proxy_ssl_name", conf.ssl_name);
  if (!conf.ssl_certificate.empty()) {
    out.insert_or_assign("proxy_ssl_certificate", conf.ssl_certificate.string());
    out.insert_or_assign("proxy_ssl_certificate_key", conf.ssl_certificate_key.string());
  }
}

bool ProxyModule::handles(const ModuleConf& c) const {
  return static_cast<const ProxyConf&>(c).pass.has_value();
}

void ProxyModule::init_worker(WorkerContext& worker) const {
  worker.set_state(this, std::make_shared<ProxyRuntime>(worker.loop(), worker.config(),
                                                        static_cast<std::uint64_t>(worker.slot())));
}

void ProxyModule::exit_worker(WorkerContext& worker) const { worker.set_state(this, nullptr); }

void ProxyModule::on_broadcast(WorkerContext& worker, std::string_view topic,
                               std::string_view payload) const {
  if (topic != "health") return;
  auto* runtime = worker.state<ProxyRuntime>(this);
  if (!runtime) return;
  while (!payload.empty()) {
    std::size_t nl = payload.find('\n');
    std::string_view line = payload.substr(0, nl);
    payload = nl == std::string_view::npos ? std::string_view() : payload.substr(nl + 1);
    std::size_t a = line.find(' '), b = line.rfind(' ');
    if (a == std::string_view::npos || a == b) continue;
    UpstreamRuntime* up = runtime->find(line.substr(0, a));
    if (!up) continue;
    std::size_t index = std::strtoul(std::string(line.substr(a + 1, b - a - 1)).c_str(), nullptr, 10);
    bool is_up = line.substr(b + 1) == "up";
    up->group.set_health(index, is_up);
  }
}

void ProxyModule::handle(Exchange& exchange, const ModuleConf& c) const {
  const auto& conf = static_cast<const ProxyConf&>(c);
  auto* runtime = exchange.worker().state<ProxyRuntime>(this);
  UpstreamRuntime* upstream = runtime ? runtime->find(conf.pass->authority) : nullptr;
  if (!upstream) {
    spdlog::error("proxy_pass \"http://{}\": no such upstream in this worker", conf.pass->authority);
    exchange.respond_error(502);
    return;
  }
  ProxyRequest::start(exchange, conf, *upstream, *runtime);
}

}  // namespace serverd
