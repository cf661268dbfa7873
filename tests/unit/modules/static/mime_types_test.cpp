#include "modules/static/mime_types.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

namespace serverd {
namespace {

std::string type_of(std::string_view path) {
  return std::string(mime_type_for_path(path).value_or("<none>"));
}

BOOST_AUTO_TEST_SUITE(mime_types)

BOOST_AUTO_TEST_CASE(required_extensions) {
  const std::pair<const char*, const char*> expected[] = {
      {"html", "text/html"},        {"htm", "text/html"},       {"css", "text/css"},
      {"js", "text/javascript"},    {"mjs", "text/javascript"}, {"json", "application/json"},
      {"txt", "text/plain"},        {"xml", "text/xml"},        {"csv", "text/csv"},
      {"svg", "image/svg+xml"},     {"png", "image/png"},       {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},       {"gif", "image/gif"},       {"ico", "image/x-icon"},
      {"webp", "image/webp"},       {"avif", "image/avif"},     {"woff", "font/woff"},
      {"woff2", "font/woff2"},      {"ttf", "font/ttf"},        {"otf", "font/otf"},
      {"pdf", "application/pdf"},   {"zip", "application/zip"}, {"gz", "application/gzip"},
      {"wasm", "application/wasm"}, {"mp4", "video/mp4"},       {"webm", "video/webm"},
      {"mp3", "audio/mpeg"},        {"ogg", "audio/ogg"},
  };
  for (const auto& [ext, type] : expected) {
    BOOST_TEST_CONTEXT("extension " << ext) {
      BOOST_TEST(std::string(mime_type_for_extension(ext).value_or("<none>")) == type);
    }
  }
}

BOOST_AUTO_TEST_CASE(extension_case_is_ignored) {
  BOOST_TEST(type_of("/INDEX.HTML") == "text/html");
  BOOST_TEST(type_of("/photo.JpG") == "image/jpeg");
  BOOST_TEST(type_of("/font.WOFF2") == "font/woff2");
}

BOOST_AUTO_TEST_CASE(uses_the_last_extension_of_the_last_segment) {
  BOOST_TEST(type_of("/dist/app.min.js") == "text/javascript");
  BOOST_TEST(type_of("/backup.tar.gz") == "application/gzip");
  BOOST_TEST(type_of("/v1.2/readme") == "<none>");  // the dot is in a directory name
  BOOST_TEST(type_of("relative.css") == "text/css");
}

BOOST_AUTO_TEST_CASE(unknown_or_missing_extension) {
  BOOST_TEST(type_of("/Makefile") == "<none>");
  BOOST_TEST(type_of("/file.") == "<none>");
  BOOST_TEST(type_of("/.bashrc") == "<none>");  // a dotfile has no extension
  BOOST_TEST(type_of("/x.unknownext") == "<none>");
  BOOST_TEST(type_of("/x.htmlx") == "<none>");
  BOOST_TEST(type_of("/x.averyveryverylongextension") == "<none>");
  BOOST_TEST(!mime_type_for_extension("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace serverd
