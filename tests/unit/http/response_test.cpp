#include "http/response.hpp"

#include <fcntl.h>

#include <boost/test/unit_test.hpp>
#include <string>

using serverd::error_page_body;
using serverd::make_error_response;
using serverd::Response;
using serverd::status_reason;

BOOST_AUTO_TEST_SUITE(http_response)

BOOST_AUTO_TEST_CASE(reason_phrases_of_common_codes) {
  BOOST_TEST(status_reason(100) == "Continue");
  BOOST_TEST(status_reason(101) == "Switching Protocols");
  BOOST_TEST(status_reason(200) == "OK");
  BOOST_TEST(status_reason(201) == "Created");
  BOOST_TEST(status_reason(204) == "No Content");
  BOOST_TEST(status_reason(206) == "Partial Content");
  BOOST_TEST(status_reason(301) == "Moved Permanently");
  BOOST_TEST(status_reason(302) == "Found");
  BOOST_TEST(status_reason(303) == "See Other");
  BOOST_TEST(status_reason(304) == "Not Modified");
  BOOST_TEST(status_reason(307) == "Temporary Redirect");
  BOOST_TEST(status_reason(308) == "Permanent Redirect");
  BOOST_TEST(status_reason(400) == "Bad Request");
  BOOST_TEST(status_reason(401) == "Unauthorized");
  BOOST_TEST(status_reason(403) == "Forbidden");
  BOOST_TEST(status_reason(404) == "Not Found");
  BOOST_TEST(status_reason(405) == "Method Not Allowed");
  BOOST_TEST(status_reason(408) == "Request Timeout");
  BOOST_TEST(status_reason(411) == "Length Required");
  BOOST_TEST(status_reason(413) == "Content Too Large");
  BOOST_TEST(status_reason(414) == "URI Too Long");
  BOOST_TEST(status_reason(416) == "Range Not Satisfiable");
  BOOST_TEST(status_reason(417) == "Expectation Failed");
  BOOST_TEST(status_reason(429) == "Too Many Requests");
  BOOST_TEST(status_reason(431) == "Request Header Fields Too Large");
  BOOST_TEST(status_reason(500) == "Internal Server Error");
  BOOST_TEST(status_reason(501) == "Not Implemented");
  BOOST_TEST(status_reason(502) == "Bad Gateway");
  BOOST_TEST(status_reason(503) == "Service Unavailable");
  BOOST_TEST(status_reason(504) == "Gateway Timeout");
  BOOST_TEST(status_reason(505) == "HTTP Version Not Supported");
}

BOOST_AUTO_TEST_CASE(unknown_codes) {
  BOOST_TEST(status_reason(299) == "Unknown");
  BOOST_TEST(status_reason(599) == "Unknown");
  BOOST_TEST(status_reason(0) == "Unknown");
  BOOST_TEST(status_reason(-1) == "Unknown");
  BOOST_TEST(status_reason(1000) == "Unknown");
}

BOOST_AUTO_TEST_CASE(error_page_bytes) {
  BOOST_TEST(error_page_body(404) ==
             "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
             "<center><h1>404 Not Found</h1></center>\r\n<hr><center>serverd</center>\r\n"
             "</body>\r\n</html>\r\n");
  std::string b502 = error_page_body(502);
  BOOST_TEST(b502.find("<title>502 Bad Gateway</title>") != std::string::npos);
  BOOST_TEST(b502.find("<h1>502 Bad Gateway</h1>") != std::string::npos);
  BOOST_TEST(error_page_body(431).find("<h1>431 Request Header Fields Too Large</h1>") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(error_response_is_complete) {
  Response r = make_error_response(503);
  BOOST_TEST(r.status == 503);
  BOOST_REQUIRE(r.headers.find("content-type") != nullptr);
  BOOST_TEST(*r.headers.find("content-type") == "text/html");
  BOOST_TEST(r.headers.size() == 1u);
  BOOST_TEST(r.body == error_page_body(503));
  BOOST_TEST(r.body_length() == r.body.size());
  BOOST_TEST(!r.file);
  BOOST_TEST(!r.close_connection);
}

BOOST_AUTO_TEST_CASE(body_length_of_a_file_response_is_the_range) {
  Response r;
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body_length() == 0u);
  r.body = "ignored when a file is set";
  r.file.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  BOOST_REQUIRE(static_cast<bool>(r.file));
  r.file_offset = 10;
  r.file_length = 1234;
  BOOST_TEST(r.body_length() == 1234u);
}

BOOST_AUTO_TEST_SUITE_END()
