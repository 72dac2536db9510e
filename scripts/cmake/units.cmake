# Installs the service definitions (run by `cmake --install` and by CPack,
# from install(CODE) in scripts/cmake/package.cmake, which sets MW_UNITS_SRC
# and MW_UNITS_OS). Runs at install time, so ExecStart names the binary under
# the prefix actually installed to (`--prefix`, or the package's /usr), which
# a configure-time substitution could not know.
#
# Linux: the systemd units into PREFIX/lib/systemd/system and .../user; with
# the prefix /usr (a Debian package) the system units into
# /lib/systemd/system, where Debian 12's packages keep theirs (user units
# have always been under /usr/lib/systemd/user). macOS: the launchd plist into
# PREFIX/share/memwatch/launchd, for the user to copy into LaunchAgents.
cmake_policy(VERSION 3.16)
set(bindir "${CMAKE_INSTALL_PREFIX}/bin")
# A staging directory of this install's own: two installs of one build tree
# into different prefixes may run at once (the install and units tests).
string(RANDOM LENGTH 12 stage_id)
set(stage "${MW_UNITS_STAGE}/${stage_id}")

function(mw_install_unit src dest)
  get_filename_component(name "${src}" NAME)
  file(READ "${src}" text)
  string(REPLACE "__BINDIR__" "${bindir}" text "${text}")
  file(MAKE_DIRECTORY "${stage}/${dest}")
  file(WRITE "${stage}/${dest}/${name}" "${text}")
  if(IS_ABSOLUTE "${dest}")
    set(to "${dest}")
  else()
    set(to "${CMAKE_INSTALL_PREFIX}/${dest}")
  endif()
  file(INSTALL DESTINATION "${to}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${stage}/${dest}/${name}")
endfunction()

if(MW_UNITS_OS STREQUAL "Linux")
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(unitdir "/lib/systemd/system")
  else()
    set(unitdir "lib/systemd/system")
  endif()
  mw_install_unit("${MW_UNITS_SRC}/systemd/memwatch@.service" "${unitdir}")
  mw_install_unit("${MW_UNITS_SRC}/systemd/memwatch-serve.service" "${unitdir}")
  mw_install_unit("${MW_UNITS_SRC}/systemd/user/memwatch@.service" "lib/systemd/user")
elseif(MW_UNITS_OS STREQUAL "Darwin")
  mw_install_unit("${MW_UNITS_SRC}/launchd/org.memwatch.memwatch.plist" "share/memwatch/launchd")
endif()
file(REMOVE_RECURSE "${stage}")
