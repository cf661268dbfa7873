# Finds llhttp. Debian 12 ships no llhttp library or CMake package, only the generated C sources
# and header inside node-llhttp (/usr/share/llhttp/*.c, /usr/share/include/llhttp/llhttp.h);
# in that case those sources are compiled into a static library here. Nothing is downloaded.
#
# Provides the imported/alias target llhttp::llhttp.

find_path(LLHTTP_INCLUDE_DIR llhttp.h
  PATHS /usr/include /usr/local/include /usr/share/include/llhttp
  PATH_SUFFIXES llhttp)
find_library(LLHTTP_LIBRARY NAMES llhttp)

if(LLHTTP_INCLUDE_DIR AND LLHTTP_LIBRARY)
  add_library(llhttp::llhttp UNKNOWN IMPORTED)
  set_target_properties(llhttp::llhttp PROPERTIES
    IMPORTED_LOCATION "${LLHTTP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LLHTTP_INCLUDE_DIR}")
  set(llhttp_FOUND TRUE)
else()
  find_path(LLHTTP_SOURCE_DIR llhttp.c api.c http.c PATHS /usr/share/llhttp NO_DEFAULT_PATH)
  if(LLHTTP_INCLUDE_DIR AND LLHTTP_SOURCE_DIR)
    add_library(llhttp_static STATIC
      ${LLHTTP_SOURCE_DIR}/llhttp.c ${LLHTTP_SOURCE_DIR}/api.c ${LLHTTP_SOURCE_DIR}/http.c)
    target_include_directories(llhttp_static SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
    set_target_properties(llhttp_static PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
    # Generated code: its warnings are not ours to fix.
    target_compile_options(llhttp_static PRIVATE -w)
    add_library(llhttp::llhttp ALIAS llhttp_static)
    set(llhttp_FOUND TRUE)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(llhttp REQUIRED_VARS LLHTTP_INCLUDE_DIR llhttp_FOUND)
