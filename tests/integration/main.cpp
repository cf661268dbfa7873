#define BOOST_TEST_MODULE serverd integration tests
#include <boost/test/unit_test.hpp>
