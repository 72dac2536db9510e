# Run CMD with ARGS (space-separated) and compare its standard output with
# the file EXPECTED, byte for byte. Used by the darwin CLI tests.
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${CMD} ${args}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} want)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CMD} ${ARGS} exited with ${rc}\n${err}")
endif()
if(NOT out STREQUAL want)
  get_filename_component(name ${EXPECTED} NAME)
  set(got ${CMAKE_CURRENT_BINARY_DIR}/${name}.got)
  file(WRITE ${got} "${out}")
  execute_process(COMMAND diff -u ${EXPECTED} ${got})
  message(FATAL_ERROR "output differs from ${EXPECTED} (got: ${got})")
endif()
