# batchproc_add_plugin(<name> SOURCES <files>... [LIBRARIES <targets>...] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds a batchproc plugin: a MODULE library with hidden symbols but the entry point,
# linked against the SDK headers (and OpenCV core), named <name>.so without a "lib" prefix
# so that `plugins: [<name>]` finds it. Used by the bundled plugins and, through the
# installed CMake package, by out-of-tree plugins.
function(batchproc_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "batchproc_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  if(TARGET batchproc::sdk)
    target_link_libraries(${name} PRIVATE batchproc::sdk)
  else()
    message(FATAL_ERROR "batchproc_add_plugin(${name}): the target batchproc::sdk is missing; "
                        "call find_package(batchproc) first")
  endif()
  if(ARG_LIBRARIES)
    target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES})
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(PROJECT_NAME STREQUAL "batchproc")
    if(NOT ARG_OUTPUT_DIRECTORY)
      set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/${BATCHPROC_PLUGIN_SUBDIR})
    endif()
    if(NOT ARG_NO_INSTALL AND BATCHPROC_INSTALL)
      install(TARGETS ${name} LIBRARY DESTINATION ${BATCHPROC_PLUGIN_SUBDIR} COMPONENT runtime)
    endif()
  endif()
endfunction()
