// Session-ticket key sets: rotation keeps the newest kKeep keys, and the channel form
// round-trips and rejects anything malformed.
#include "tls/ticket_keys.hpp"

#include <boost/test/unit_test.hpp>

namespace serverd::test {

BOOST_AUTO_TEST_SUITE(ticket_keys)

BOOST_AUTO_TEST_CASE(rotation_keeps_the_newest_keys) {
  TicketKeys keys;
  BOOST_TEST(keys.current() == nullptr);
  const TicketKey first = TicketKey::generate();
  keys.add(first);
  BOOST_TEST(keys.find(first.name.data()) != nullptr);
  TicketKey last;
  for (int i = 0; i < 3; ++i) keys.add(last = TicketKey::generate());
  BOOST_TEST(keys.size() == TicketKeys::kKeep);
  BOOST_TEST((keys.current()->name == last.name));
  BOOST_TEST(keys.find(first.name.data()) == nullptr);  // expired
}

BOOST_AUTO_TEST_CASE(the_wire_form_round_trips) {
  TicketKeys keys;
  keys.add(TicketKey::generate());
  keys.add(TicketKey::generate());
  const std::string wire = keys.serialize();
  BOOST_TEST(wire.size() == 2 * TicketKey::kWireSize);
  auto back = TicketKeys::parse(wire);
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(back->serialize() == wire);
  BOOST_TEST((back->current()->aes_key == keys.current()->aes_key));
  BOOST_TEST(!TicketKeys::parse("").has_value());
  BOOST_TEST(!TicketKeys::parse(wire.substr(1)).has_value());
  BOOST_TEST(!TicketKeys::parse(std::string(4 * TicketKey::kWireSize, 'x')).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace serverd::test
