#include "modules/proxy/proxy_module.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "core/directive_rows.hpp"
#include "core/suggest.hpp"
#include "core/units.hpp"
#include "http/exchange.hpp"
#include "modules/proxy/proxy_conf.hpp"
#include "modules/proxy/proxy_request.hpp"
#include "modules/proxy/proxy_runtime.hpp"
#include "process/worker_context.hpp"
#include "tls/tls_context.hpp"

namespace serverd {

namespace {
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
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
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
    // The key at fault, when this block wrote it; else proxy_pass, which asked for TLS.
    const char* key = error.field == TlsField::certificate ? "proxy_ssl_certificate"
                      : error.field == TlsField::key       ? "proxy_ssl_certificate_key"
                      : error.field == TlsField::trusted_certificate
                          ? "proxy_ssl_trusted_certificate"
                          : "proxy_pass";
    const toml::node* at = block.get(key);
    ctx.error(at != nullptr ? *at : *block.get("proxy_pass"), error.message);
  }
}

bool valid_header_text(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

void parse_pass(const Directive& row, void* t, const toml::node& node, ConfigContext& ctx) {
  auto text = ctx.read_string(node, row.name);
  if (!text) return;
  auto& conf = rows::field<&ProxyConf::pass>(t);
  std::string error;
  if (auto target = parse_proxy_pass(*text, &error)) {
    conf = std::move(*target);
    rows::field<&ProxyConf::pass_pos>(t) = ctx.pos(node);
  } else {
    ctx.error(node, "invalid proxy_pass \"" + *text + "\": " + error);
  }
}

void dump_pass(const Directive& row, const void* t, DumpOut& out) {
  const auto& pass = rows::field<&ProxyConf::pass>(t);
  if (pass) out.put(row.name, pass->scheme + "://" + pass->authority + pass->uri);
}

void parse_set_header(const Directive& /*row*/, void* t, const toml::node& node,
                      ConfigContext& ctx) {
  auto& headers = rows::field<&ProxyConf::set_headers>(t);
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    ctx.error(node, "\"proxy_set_header\" must be a table of header = \"value\"");
    return;
  }
  for (const auto& [key, value] : *table) {
    const auto* s = value.as_string();
    if (!s || !valid_header_text(s->get()) || key.str().empty()) {
      ctx.error(value, "proxy_set_header \"" + std::string(key.str()) +
                           "\" must be a string without control characters");
      continue;
    }
    // A named copy: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string_view name = key.str();
    std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
    headers.emplace_back(std::string(key.str()), s->get());
  }
}

void dump_set_header(const Directive& row, const void* t, DumpOut& out) {
  const auto& headers = rows::field<&ProxyConf::set_headers>(t);
  if (headers.empty()) return;
  toml::table table;
  for (const auto& [k, v] : headers) table.insert_or_assign(k, v);
  out.put(row.name, std::move(table));
}

constexpr unsigned kServerOrLocation = ConfigLevel::server | ConfigLevel::location;

constexpr Directive kRows[] = {
    rows::fresh<&ProxyConf::pass>(rows::custom("proxy_pass",
                                               static_cast<unsigned>(ConfigLevel::location),
                                               parse_pass, dump_pass)
                                      .handler()),
    rows::custom("proxy_set_header", kServerOrLocation, parse_set_header, dump_set_header),
    rows::strings<&ProxyConf::hide_headers>("proxy_hide_header", kServerOrLocation),
    rows::duration<&ProxyConf::connect_timeout>("proxy_connect_timeout", kServerOrLocation),
    rows::duration<&ProxyConf::read_timeout>("proxy_read_timeout", kServerOrLocation),
    rows::duration<&ProxyConf::send_timeout>("proxy_send_timeout", kServerOrLocation),
    rows::integer<&ProxyConf::next_upstream_tries>("proxy_next_upstream_tries", kServerOrLocation,
                                                   0, 100),
    rows::size<&ProxyConf::buffer_size>("proxy_buffer_size", kServerOrLocation)
        .limits(4096, INT64_MAX, "\"proxy_buffer_size\" must be at least 4KiB"),
    rows::flag<&ProxyConf::ssl_verify>("proxy_ssl_verify", kServerOrLocation),
    rows::path<&ProxyConf::ssl_trusted_certificate>("proxy_ssl_trusted_certificate",
                                                    kServerOrLocation),
    rows::flag<&ProxyConf::ssl_server_name>("proxy_ssl_server_name", kServerOrLocation),
    rows::string<&ProxyConf::ssl_name>("proxy_ssl_name", kServerOrLocation),
    rows::path<&ProxyConf::ssl_certificate>("proxy_ssl_certificate", kServerOrLocation),
    rows::path<&ProxyConf::ssl_certificate_key>("proxy_ssl_certificate_key", kServerOrLocation),
};

}  // namespace

DirectiveTable ProxyModule::directives() const {
  return kRows;
}

std::shared_ptr<ModuleConf> ProxyModule::create(ConfigLevel /*level*/,
                                                const ModuleConf* parent) const {
  return inherit_or_default<ProxyConf>(parent);
}

bool ProxyModule::finish(ConfigLevel /*level*/, ModuleConf& c, const toml::table& block,
                         ConfigContext& ctx, bool /*had_errors*/) const {
  auto& conf = static_cast<ProxyConf&>(c);
  conf.compile_set_headers();
  if (conf.ssl_certificate.empty() != conf.ssl_certificate_key.empty()) {
    const char* key =
        conf.ssl_certificate.empty() ? "proxy_ssl_certificate_key" : "proxy_ssl_certificate";
    if (const toml::node* node = block.get(key))
      ctx.error(*node, "\"proxy_ssl_certificate\" and \"proxy_ssl_certificate_key\" go together");
  }
  conf.tls.reset();
  if (conf.pass && conf.pass->scheme == "https") configure_upstream_tls(block, conf, ctx);
  return true;
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
                          !parse_listen_address(t.authority, &error))) {
          std::string message = "proxy_pass \"" + t.scheme + "://" + t.authority +
                                "\": no [[upstream]] of that name, and not a host:port address";
          std::vector<std::string_view> names;
          for (const auto& u : config.upstreams) names.push_back(u.name);
          if (auto hint = suggest(t.authority, names))
            message += "; did you mean \"" + t.scheme + "://" + *hint + "\"?";
          ctx.errors().add(conf->pass_pos, std::move(message));
        }
        if (t.has_uri && (loc.match == MatchKind::regex || loc.match == MatchKind::regex_icase))
          ctx.errors().add(conf->pass_pos,
                           "proxy_pass with a URI part cannot be used in a regex location");
      }
    }
  }
}

bool ProxyModule::handles(const ModuleConf& c) const {
  return static_cast<const ProxyConf&>(c).pass.has_value();
}

void ProxyModule::init_worker(WorkerContext& worker) const {
  worker.set_state(this, std::make_shared<ProxyRuntime>(worker.loop(), worker.config(),
                                                        static_cast<std::uint64_t>(worker.slot())));
}

void ProxyModule::exit_worker(WorkerContext& worker) const {
  worker.set_state(this, nullptr);
}

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
    std::size_t index =
        std::strtoul(std::string(line.substr(a + 1, b - a - 1)).c_str(), nullptr, 10);
    bool is_up = line.substr(b + 1) == "up";
    up->group.set_health(index, is_up);
  }
}

void ProxyModule::handle(Exchange& exchange, const ModuleConf& c) const {
  const auto& conf = static_cast<const ProxyConf&>(c);
  auto* runtime = exchange.worker().state<ProxyRuntime>(this);
  UpstreamRuntime* upstream = runtime ? runtime->find(conf.pass->authority) : nullptr;
  if (!upstream) {
    spdlog::error("proxy_pass \"http://{}\": no such upstream in this worker",
                  conf.pass->authority);
    exchange.respond_error(502);
    return;
  }
  ProxyRequest::start(exchange, conf, *upstream, *runtime);
}

}  // namespace serverd
