#pragma once
// Session-ticket keys shared by every worker, so a ticket issued by one worker (or by the
// previous generation, before a reload) resumes on any other. The master creates the first key
// at start and keeps the set across reloads; the agent creates a new one every
// `tls_ticket_key_rotation` and the master relays the whole set to every worker. The newest key
// encrypts; the older ones (kept for two more periods) only decrypt, and their tickets are
// renewed.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serverd {

struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aes_key{};
  std::array<unsigned char, 32> hmac_key{};
  static constexpr std::size_t kWireSize = 16 + 32 + 32;
  // A fresh key from the OpenSSL CSPRNG (throws if the RNG fails).
  static TicketKey generate();
};

class TicketKeys {
 public:
  static constexpr std::size_t kKeep = 3;  // the current key and two older ones

  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }
  // The key that encrypts new tickets (nullptr when there is none).
  const TicketKey* current() const { return keys_.empty() ? nullptr : &keys_.front(); }
  // The key named `name` (16 bytes), nullptr when it is unknown or expired.
  const TicketKey* find(const unsigned char* name) const;
  // Makes `key` the current one; the oldest beyond kKeep is dropped.
  void add(const TicketKey& key);

  // Compact binary form for a channel message (kKeep * 80 bytes at most).
  std::string serialize() const;
  static std::optional<TicketKeys> parse(std::string_view bytes);

 private:
  std::vector<TicketKey> keys_;  // newest first
};

}  // namespace serverd
