#define BOOST_TEST_MODULE serverd unit tests
#include <boost/test/unit_test.hpp>
