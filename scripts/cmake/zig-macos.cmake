# CMake toolchain file: macOS (Mach-O, arm64 or x86_64) from Linux with zig cc,
# which carries Apple's SDK headers (11, 12, 13) and libSystem's link stubs.
# The same CMakeLists.txt builds for macOS; scripts/cross-macos.sh drives it.
#
#   cmake -S . -B build-macos --toolchain scripts/cmake/zig-macos.cmake \
#         -DMW_MACOS_ARCH=arm64 -DMW_ZIG=/path/to/zig -DMW_CROSS_PREFIX=/where/libs/are
#
# MW_MACOS_ARCH  arm64 (default) or x86_64
# MW_MACOS_MIN   the oldest macOS the binaries load on (minos), default 11.0;
#                it also picks zig's SDK headers (11 -> the 11 SDK, ...)
# MW_ZIG         zig 0.11 (default: zig on PATH)
# MW_CROSS_PREFIX  a prefix of libraries built for the same target: the only
#                place headers, libraries and pkg-config files are looked for
#
# zig cc takes its target as an argument, and CMake wants one program per
# tool, so small wrappers (cc, ar, ranlib) are written beside the build.

set(CMAKE_SYSTEM_NAME Darwin)
if(NOT MW_MACOS_ARCH)
  set(MW_MACOS_ARCH arm64)
endif()
if(NOT MW_MACOS_MIN)
  set(MW_MACOS_MIN 11.0)
endif()
if(MW_MACOS_ARCH STREQUAL "arm64")
  set(_mw_zig_arch aarch64)
elseif(MW_MACOS_ARCH STREQUAL "x86_64")
  set(_mw_zig_arch x86_64)
else()
  message(FATAL_ERROR "MW_MACOS_ARCH must be arm64 or x86_64, not '${MW_MACOS_ARCH}'")
endif()
set(CMAKE_SYSTEM_PROCESSOR ${MW_MACOS_ARCH})
set(MW_ZIG_TARGET ${_mw_zig_arch}-macos.${MW_MACOS_MIN})

if(NOT MW_ZIG)
  find_program(MW_ZIG zig)
  if(NOT MW_ZIG)
    message(FATAL_ERROR "zig not found: pass -DMW_ZIG=/path/to/zig (scripts/cross-macos.sh installs one)")
  endif()
endif()

# Written once per build tree; try_compile projects get the same directory
# (CMAKE_TRY_COMPILE_PLATFORM_VARIABLES below) and find the wrappers there.
if(NOT MW_ZIG_WRAPPERS)
  set(MW_ZIG_WRAPPERS ${CMAKE_BINARY_DIR}/zig-${MW_ZIG_TARGET})
endif()
if(NOT EXISTS ${MW_ZIG_WRAPPERS}/cc)
  foreach(_mw_tool cc ar ranlib)
    if(_mw_tool STREQUAL "cc")
      # zig's linker knows no -v, which CMake's ABI check passes (-Wl,-v).
      set(_mw_pre "for a; do shift; [ \"$a\" = -Wl,-v ] || set -- \"$@\" \"$a\"; done\n")
      set(_mw_cmd "cc -target ${MW_ZIG_TARGET}")
    else()
      set(_mw_pre "")
      set(_mw_cmd ${_mw_tool})
    endif()
    file(WRITE ${MW_ZIG_WRAPPERS}/tmp/${_mw_tool}
         "#!/bin/sh\n${_mw_pre}exec '${MW_ZIG}' ${_mw_cmd} \"$@\"\n")
    file(COPY ${MW_ZIG_WRAPPERS}/tmp/${_mw_tool} DESTINATION ${MW_ZIG_WRAPPERS}
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                          WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(REMOVE_RECURSE ${MW_ZIG_WRAPPERS}/tmp)
endif()
set(CMAKE_C_COMPILER ${MW_ZIG_WRAPPERS}/cc)
set(CMAKE_AR ${MW_ZIG_WRAPPERS}/ar CACHE FILEPATH "zig's ar")
set(CMAKE_RANLIB ${MW_ZIG_WRAPPERS}/ranlib CACHE FILEPATH "zig's ranlib")
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MW_MACOS_ARCH MW_MACOS_MIN MW_ZIG MW_ZIG_WRAPPERS
                                         MW_CROSS_PREFIX)
# zig sets the deployment target from -target; CMake must not add its own
# -arch or -isysroot (zig cc knows neither an SDK path nor fat binaries).
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)
set(CMAKE_OSX_SYSROOT "" CACHE STRING "" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "" FORCE)

# Libraries only from the cross prefix, never the host's.
if(MW_CROSS_PREFIX)
  set(CMAKE_FIND_ROOT_PATH ${MW_CROSS_PREFIX})
  set(ENV{PKG_CONFIG_LIBDIR} ${MW_CROSS_PREFIX}/lib/pkgconfig)
else()
  set(ENV{PKG_CONFIG_LIBDIR} /nonexistent)
endif()
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_USER_MAKE_RULES_OVERRIDE ${CMAKE_CURRENT_LIST_DIR}/zig-macos-rules.cmake)
