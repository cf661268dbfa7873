#include "tls/ticket_keys.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace serverd {

TicketKey TicketKey::generate() {
  TicketKey k;
  if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
      RAND_bytes(k.aes_key.data(), static_cast<int>(k.aes_key.size())) != 1 ||
      RAND_bytes(k.hmac_key.data(), static_cast<int>(k.hmac_key.size())) != 1)
    throw std::runtime_error("RAND_bytes failed to create a session-ticket key");
  return k;
}

const TicketKey* TicketKeys::find(const unsigned char* name) const {
  for (const TicketKey& k : keys_)
    if (std::memcmp(k.name.data(), name, k.name.size()) == 0) return &k;
  return nullptr;
}

void TicketKeys::add(const TicketKey& key) {
  keys_.insert(keys_.begin(), key);
  if (keys_.size() > kKeep) keys_.resize(kKeep);
}

std::string TicketKeys::serialize() const {
  std::string out;
  out.reserve(keys_.size() * TicketKey::kWireSize);
  for (const TicketKey& k : keys_) {
    out.append(reinterpret_cast<const char*>(k.name.data()), k.name.size());
    out.append(reinterpret_cast<const char*>(k.aes_key.data()), k.aes_key.size());
    out.append(reinterpret_cast<const char*>(k.hmac_key.data()), k.hmac_key.size());
  }
  return out;
}

std::optional<TicketKeys> TicketKeys::parse(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % TicketKey::kWireSize != 0 ||
      bytes.size() / TicketKey::kWireSize > kKeep)
    return std::nullopt;
  TicketKeys set;
  for (std::size_t off = 0; off < bytes.size(); off += TicketKey::kWireSize) {
    TicketKey k;
    const char* p = bytes.data() + off;
    std::memcpy(k.name.data(), p, 16);
    std::memcpy(k.aes_key.data(), p + 16, 32);
    std::memcpy(k.hmac_key.data(), p + 48, 32);
    set.keys_.push_back(k);
  }
  return set;
}

}  // namespace serverd
