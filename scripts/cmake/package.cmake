# Service definitions and the Debian package (included from the top-level
# CMakeLists.txt, after the install() rules).
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build --target package
#
# gives build/memwatch_VERSION_ARCH.deb: the executable, the Lua module on
# Debian's Lua 5.4 paths (the C module under /usr/lib/TRIPLET/lua/5.4, as
# GNUInstallDirs lays out the prefix /usr; the Lua files under
# /usr/share/lua/5.4), the examples, the man page and the systemd units.

# ---- service definitions, filled in at install time (scripts/cmake/units.cmake) ----
install(CODE "set(MW_UNITS_SRC \"${PROJECT_SOURCE_DIR}/scripts\")
set(MW_UNITS_OS \"${CMAKE_SYSTEM_NAME}\")
set(MW_UNITS_STAGE \"${PROJECT_BINARY_DIR}/units\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/scripts/cmake/units.cmake)

# ---- the Debian package ---------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "memwatch")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}") # the one definition: project(VERSION)
set(CPACK_PACKAGE_CONTACT "memwatch maintainers <memwatch@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Lua-scriptable process memory watcher")
set(CPACK_PACKAGE_DESCRIPTION "memwatch measures what each process and app costs in memory \
(footprint, resident, PSS, swap), watches it with rules written in Lua 5.4, and alerts, \
exports to Prometheus or records. Includes the Lua module for a stock lua5.4 and \
systemd units (memwatch@.service, memwatch-serve.service).")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT") # memwatch_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Shared libraries by dpkg-shlibdeps (libc, jansson, libmicrohttpd, readline,
# ncurses, and liblua5.4 for the executable), plus liblua5.4-0 named for the
# module, which does not link it (the interpreter that loads it provides
# Lua): the module needs it even if the executable one day links Lua
# statically. Recommends: gnuplot (memwatch plot), notify-send
# (memwatch.actions.notify) and the lua5.4 interpreter for `require "memwatch"`.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "liblua5.4-0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnuplot-nox | gnuplot, libnotify-bin, lua5.4")
# A package for the Debian layout only: the prefix /usr, where
# GNUInstallDirs puts the module under lib/TRIPLET. Checked when cpack runs,
# so configuring for `cmake --install` into /usr/local is not disturbed.
set(MW_PACKAGE_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/scripts/cmake/cpack_check.cmake.in
               ${PROJECT_BINARY_DIR}/cpack_check.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE "${PROJECT_BINARY_DIR}/cpack_check.cmake")
include(CPack)
