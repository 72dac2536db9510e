# Loaded after CMake's Darwin platform rules (CMAKE_USER_MAKE_RULES_OVERRIDE,
# set by zig-macos.cmake). zig 0.11's linker ignores -bundle, so a MODULE
# (the Lua C module, core.so) is linked as a shared library instead; Lua's
# symbols stay undefined there and are found when the interpreter loads it
# (-undefined dynamic_lookup, the CMakeLists adds it for APPLE).
set(CMAKE_SHARED_MODULE_CREATE_C_FLAGS "-shared")
