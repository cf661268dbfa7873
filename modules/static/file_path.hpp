#pragma once
// Request path -> file system path for `root` and `alias`, refusing anything that could step
// outside the configured directory. The core already decodes and normalises the path; this is
// the second lock on the door, because a static module that trusts its caller serves
// /etc/shadow the day the caller has a bug.
#include <string>
#include <string_view>

namespace serverd {

struct MappedPath {
  int status = 0;    // 0 = ok; else the HTTP status to answer (400 traversal, 404 no mapping)
  std::string path;  // the file to open when status == 0
};

// Whether a decoded request path may be mapped at all: it starts with '/', has no NUL byte, no
// ".." segment and no backslash next to "..".
bool is_safe_request_path(std::string_view path);

// root + path. `root` has no trailing '/' ("" for the file system root).
MappedPath map_root_path(std::string_view root, std::string_view path);

// The location's prefix replaced by the alias ("/img/a.png" in location "/img/" with alias
// "/data/images/" -> "/data/images/a.png"). The part that comes from the request is checked
// where it meets the alias too: location "/img" + alias "/data/images/" + "/img../x" would
// otherwise produce "/data/images/../x".
MappedPath map_alias_path(std::string_view alias, std::string_view location_path,
                          std::string_view path);

// open(2) errno -> status: missing -> 404, permission -> 403, anything else -> 500.
int status_for_open_error(int err);

// Percent-encodes a decoded path for use in a Location header: everything outside RFC 3986's
// pchar and '/' (controls, space, '%', '?', '#', non-ASCII...) becomes %XX, which also makes
// header injection through a crafted path impossible.
std::string encode_uri_path(std::string_view path);

// Where to send a request for a directory whose URI lacks the trailing '/': the encoded path
// plus '/', then "?query" when there is one (controls and spaces in it percent-encoded).
std::string directory_redirect_location(std::string_view path, std::string_view query);

}  // namespace serverd
