# cmake -P script behind the mp package test (tests/package/CMakeLists.txt passes the -D values):
# batchproc::mp consumed by a program that only wants processes.
#
#   1. build batchproc_mp, then `cmake --install --component mp` to <work>/prefix: the library,
#      its headers and the CMake package, nothing of the engine or the plugin SDK
#   2. copy tests/package/mp_consumer (Process + Queue + Lock + Value under spawn) into <work>
#      and build it with find_package(batchproc), with OpenCV made unfindable
#      (CMAKE_DISABLE_FIND_PACKAGE_OpenCV) and warnings as errors
#   3. check with readelf and ldd that the program needs no OpenCV library, run it and compare
#      its output: the spawned children re-run the installed-library program and find their
#      task through the library's static initializer
cmake_minimum_required(VERSION 3.20)

foreach(var BP_SOURCE_DIR BP_BUILD_DIR BP_WORK_DIR BP_GENERATOR BP_INSTALL_LIBDIR BP_INSTALL_INCLUDEDIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "mp_package_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BP_BUILD_TYPE)
  set(BP_BUILD_TYPE Release)
endif()

set(prefix "${BP_WORK_DIR}/prefix")
set(project_dir "${BP_WORK_DIR}/mp_consumer")

function(step what expect)
  message(STATUS "---- ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code COMMAND_ECHO STDOUT)
  if(NOT "${code}" STREQUAL "${expect}")
    message(FATAL_ERROR "mp package test: ${what} failed: exit code ${code}, expected ${expect}")
  endif()
endfunction()

function(require_file path why)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "mp package test: ${path} is missing (${why})")
  endif()
endfunction()

file(REMOVE_RECURSE "${BP_WORK_DIR}")
file(MAKE_DIRECTORY "${BP_WORK_DIR}")

# ---------------------------------------------------------------------------------- 1
step("build batchproc_mp" 0 "${CMAKE_COMMAND}" --build "${BP_BUILD_DIR}" --config "${BP_BUILD_TYPE}" --target batchproc_mp)
step("install the mp component to ${prefix}" 0
  "${CMAKE_COMMAND}" --install "${BP_BUILD_DIR}" --config "${BP_BUILD_TYPE}" --component mp --prefix "${prefix}")

set(cmake_dir "${prefix}/${BP_INSTALL_LIBDIR}/cmake/batchproc")
require_file("${prefix}/${BP_INSTALL_LIBDIR}/libbatchproc_mp.a" "the library")
require_file("${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/mp.hpp" "the header for all of batchproc::mp")
foreach(header process queue lock values manager serialization detail/unique_fd)
  require_file("${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/mp/${header}.hpp" "a batchproc::mp header")
endforeach()
require_file("${cmake_dir}/batchprocConfig.cmake" "CMake package")
require_file("${cmake_dir}/batchprocConfigVersion.cmake" "CMake package")
require_file("${cmake_dir}/batchprocMpTargets.cmake" "the exported batchproc::mp")
# The component is the process library alone.
foreach(absent "${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/plugin.h" "${cmake_dir}/batchprocTargets.cmake")
  if(EXISTS "${absent}")
    message(FATAL_ERROR "mp package test: ${absent} belongs to the plugin SDK, not to the mp component")
  endif()
endforeach()

# ---------------------------------------------------------------------------------- 2
file(COPY "${BP_SOURCE_DIR}/tests/package/mp_consumer" DESTINATION "${BP_WORK_DIR}" PATTERN "build" EXCLUDE)
set(compiler_args "")
if(BP_CXX_COMPILER)
  set(compiler_args "-DCMAKE_CXX_COMPILER=${BP_CXX_COMPILER}")
endif()
step("configure the program against the installed package, OpenCV unfindable" 0
  "${CMAKE_COMMAND}" -S "${project_dir}" -B "${project_dir}/build" -G "${BP_GENERATOR}" ${compiler_args}
    "-DCMAKE_BUILD_TYPE=${BP_BUILD_TYPE}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON --no-warn-unused-cli
    "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Wpedantic -Wshadow -Werror ${BP_SANITIZER_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${BP_SANITIZER_FLAGS}")

file(STRINGS "${project_dir}/build/CMakeCache.txt" found_dir REGEX "^batchproc_DIR:")
string(REGEX REPLACE "^batchproc_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${prefix}" real_prefix)
string(FIND "${found_dir}/" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "mp package test: find_package(batchproc) used ${found_dir}, not the install in ${real_prefix}")
endif()

step("build the program" 0 "${CMAKE_COMMAND}" --build "${project_dir}/build" --config "${BP_BUILD_TYPE}")
set(program "${project_dir}/build/mp_consumer")
require_file("${program}" "the program built against the install")

# ---------------------------------------------------------------------------------- 3
execute_process(COMMAND readelf -d "${program}" OUTPUT_VARIABLE dynamic RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "mp package test: readelf -d ${program} failed (${code})")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${dynamic}")
message(STATUS "---- the program needs: ${needed}")
if(needed MATCHES "opencv")
  message(FATAL_ERROR "mp package test: the program links OpenCV: ${needed}")
endif()
execute_process(COMMAND ldd "${program}" OUTPUT_VARIABLE loaded RESULT_VARIABLE code)
if(NOT code EQUAL 0 OR loaded MATCHES "opencv" OR loaded MATCHES "not found")
  message(FATAL_ERROR "mp package test: ldd ${program} (exit code ${code}):\n${loaded}")
endif()

message(STATUS "---- run the program")
execute_process(COMMAND "${program}" WORKING_DIRECTORY "${BP_WORK_DIR}" RESULT_VARIABLE code
  OUTPUT_VARIABLE output ERROR_VARIABLE errors TIMEOUT 120)
set(expected "1^2=1\n2^2=4\n3^2=9\ndone=3 start_method=spawn\n")
if(NOT code EQUAL 0 OR NOT output STREQUAL expected)
  message(FATAL_ERROR "mp package test: the program ended with ${code}; its output:\n${output}\nexpected:\n"
                      "${expected}\nits errors:\n${errors}")
endif()

message(STATUS "mp package test passed: installed the mp component to ${prefix}, built and ran ${program} "
               "(no OpenCV)")
