# Installation layout and CPack packages (deb and rpm from the same build):
#
#   cpack -G DEB     serverd_<version>-<release>_<arch>.deb
#   cpack -G RPM     serverd-<version>-<release>.<arch>.rpm
#
# scripts/package-check builds both, inspects them with dpkg-deb, rpm and lintian, and
# installs, runs and purges the deb. Included at the end of the top-level CMakeLists.txt.
include_guard(GLOBAL)

set(SERVERD_PACKAGE_MAINTAINER "serverd maintainers <maintainers@serverd.example>"
    CACHE STRING "Maintainer of the deb and rpm packages (Name <address>)")
set(SERVERD_PACKAGE_RELEASE "1" CACHE STRING "Package release (deb revision, rpm Release)")
set(SERVERD_DEB_VERSION "${PROJECT_VERSION}-${SERVERD_PACKAGE_RELEASE}")

set(_serverd_pkg_src ${CMAKE_CURRENT_SOURCE_DIR}/packaging)
set(_serverd_pkg_out ${CMAKE_CURRENT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${_serverd_pkg_out})

# --- compressed documentation (gzip -9n: reproducible, as Debian policy wants) -------------
find_program(SERVERD_GZIP gzip REQUIRED)
configure_file(${_serverd_pkg_src}/changelog.in ${_serverd_pkg_out}/changelog.Debian @ONLY)
set(_serverd_gz_outputs)
foreach(_pair IN ITEMS
        "${CMAKE_CURRENT_SOURCE_DIR}/man/serverd.8|serverd.8.gz"
        "${CMAKE_CURRENT_SOURCE_DIR}/man/server.toml.5|server.toml.5.gz"
        "${_serverd_pkg_out}/changelog.Debian|changelog.Debian.gz")
  string(REPLACE "|" ";" _pair "${_pair}")
  list(GET _pair 0 _in)
  list(GET _pair 1 _name)
  add_custom_command(
    OUTPUT ${_serverd_pkg_out}/${_name}
    COMMAND sh -c "\"$0\" -9n -c \"$1\" > \"$2\"" ${SERVERD_GZIP} ${_in}
            ${_serverd_pkg_out}/${_name}
    DEPENDS ${_in}
    COMMENT "Compressing ${_name}"
    VERBATIM)
  list(APPEND _serverd_gz_outputs ${_serverd_pkg_out}/${_name})
endforeach()
add_custom_target(serverd_packaging_docs ALL DEPENDS ${_serverd_gz_outputs})

# --- what gets installed ----------------------------------------------------------------
# Relative destinations are under the prefix (/usr in the packages); /etc/serverd and the
# systemd unit directory are absolute, as the binary's default -c path and systemd expect.
install(FILES ${_serverd_pkg_src}/server.toml DESTINATION /etc/serverd
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_serverd_pkg_src}/serverd.service DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_serverd_pkg_out}/serverd.8.gz DESTINATION share/man/man8)
install(FILES ${_serverd_pkg_out}/server.toml.5.gz DESTINATION share/man/man5)
install(FILES ${_serverd_pkg_src}/html/index.html DESTINATION share/serverd/html)
install(FILES
          ${_serverd_pkg_src}/copyright
          ${_serverd_pkg_out}/changelog.Debian.gz
        DESTINATION share/doc/serverd)
install(FILES
          ${_serverd_pkg_src}/examples/README
          ${_serverd_pkg_src}/examples/static-site.toml
          ${_serverd_pkg_src}/examples/reverse-proxy.toml
          ${_serverd_pkg_src}/examples/tls.toml
          ${_serverd_pkg_src}/examples/tls-example.pem
          ${_serverd_pkg_src}/examples/tls-example.key
          ${_serverd_pkg_src}/examples/log-rotation.toml
          ${_serverd_pkg_src}/examples/logrotate
        DESTINATION share/doc/serverd/examples)
install(FILES ${_serverd_pkg_src}/deb/lintian-overrides DESTINATION share/lintian/overrides
        RENAME serverd)

# --- CPack: common --------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME serverd)
set(CPACK_PACKAGE_VENDOR "The serverd authors")
set(CPACK_PACKAGE_CONTACT "${SERVERD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "nginx-style HTTP server and reverse proxy")
# Lines of at most 80 characters (the deb's extended description keeps them).
set(CPACK_PACKAGE_DESCRIPTION
    "serverd is a config-driven HTTP/1.1 server and reverse proxy in the style of
nginx, configured with one TOML file. A master process binds the listening
sockets and supervises an agent and one worker per CPU; workers serve static
files, log accesses and proxy to upstream groups with load balancing, health
checks and keep-alive pools. Configuration reloads and binary upgrades happen
without refusing or dropping a connection, and the package upgrades a running
server by a binary upgrade.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)  # cpack -G RPM for the rpm
set(CPACK_SOURCE_GENERATOR "")

# --- deb ----------------------------------------------------------------------------------
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${SERVERD_PACKAGE_RELEASE}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SERVERD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "logrotate")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "httpd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_serverd_pkg_src}/deb/conffiles
    ${_serverd_pkg_src}/deb/postinst
    ${_serverd_pkg_src}/deb/prerm
    ${_serverd_pkg_src}/deb/postrm)

# --- rpm ----------------------------------------------------------------------------------
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE "${SERVERD_PACKAGE_RELEASE}")
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# Library requirements (libssl.so.3, libspdlog, libfmt, libz, libstdc++) come from rpm's
# automatic ELF dependency scan; the scriptlets need these:
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PACKAGE_REQUIRES_POST "coreutils, sed")
set(CPACK_RPM_PACKAGE_PROVIDES "webserver")
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/serverd/server.toml")
# Directories owned by the base system (on merged-/usr systems /lib is a symlink: owning it
# would conflict with the filesystem package).
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /lib /lib/systemd /lib/systemd/system /usr/sbin /usr/share/man /usr/share/man/man5
    /usr/share/man/man8 /usr/share/lintian /usr/share/lintian/overrides)
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${_serverd_pkg_src}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${_serverd_pkg_src}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${_serverd_pkg_src}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${_serverd_pkg_src}/rpm/postun.sh)
# No /usr/lib/.build-id links: they would clash between packages built from one tree.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

include(CPack)
