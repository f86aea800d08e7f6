# cmake -P script behind the package test (tests/package/CMakeLists.txt passes the -D values).
#
#   1. build the installed targets if needed, then `cmake --install` to <work>/prefix
#   2. copy samples/plugins/vignette and two sample images into <work>, as a user's own
#      project folder would look, and configure + build it with CMAKE_PREFIX_PATH=<prefix>
#      (warnings as errors, so the installed SDK headers must compile cleanly in user code)
#   3. run the INSTALLED <prefix>/bin/batchproc: `validate`, then `run` of the sample's own
#      vignette.yaml, then a `do` writing a TIFF with metadata (the tiff and metadata
#      modules, loaded on first use); check exit codes, the output files and the report
#
# Everything happens under <work>, which is emptied first, so a run never sees the leftovers
# of an earlier one.
cmake_minimum_required(VERSION 3.20)

foreach(var BP_SOURCE_DIR BP_BUILD_DIR BP_WORK_DIR BP_GENERATOR BP_INSTALL_BINDIR BP_INSTALL_LIBDIR
            BP_INSTALL_INCLUDEDIR BP_PLUGIN_SUBDIR BP_CODEC_SUBDIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "package_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BP_BUILD_TYPE)
  set(BP_BUILD_TYPE Release)
endif()

set(prefix "${BP_WORK_DIR}/prefix")
set(project_dir "${BP_WORK_DIR}/samples/plugins/vignette")
set(images_dir "${BP_WORK_DIR}/samples/images")
set(out_dir "${BP_WORK_DIR}/out")
set(report "${BP_WORK_DIR}/report.json")
# Two images that exercise the sample's stages: a 1-channel JPEG (sepia turns it to colour)
# and an RGBA PNG (alpha is kept, then flattened by save to JPEG).
set(images storm-gray.jpg water-drop-alpha.png)

# Runs a command, echoing it; stops the test with `what` when its exit code is not `expect`.
function(step what expect)
  message(STATUS "---- ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code COMMAND_ECHO STDOUT)
  if(NOT "${code}" STREQUAL "${expect}")
    message(FATAL_ERROR "package test: ${what} failed: exit code ${code}, expected ${expect}")
  endif()
endfunction()

function(require_file path why)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "package test: ${path} is missing (${why})")
  endif()
endfunction()

file(REMOVE_RECURSE "${BP_WORK_DIR}")
file(MAKE_DIRECTORY "${BP_WORK_DIR}" "${images_dir}")

# ---------------------------------------------------------------------------------- 1
# `cmake --install` does not build; on a tree where only the tests were built this brings
# the installed targets up to date (a no-op when they are).
step("build the installed targets" 0
  "${CMAKE_COMMAND}" --build "${BP_BUILD_DIR}" --config "${BP_BUILD_TYPE}" --target batchproc imgproc sumsq batchproc_mp
  batchproc_testing)
step("install to ${prefix}" 0
  "${CMAKE_COMMAND}" --install "${BP_BUILD_DIR}" --config "${BP_BUILD_TYPE}" --prefix "${prefix}")

set(installed_exe "${prefix}/${BP_INSTALL_BINDIR}/batchproc")
require_file("${installed_exe}" "the CLI")
require_file("${prefix}/${BP_PLUGIN_SUBDIR}/imgproc.so" "bundled plugin")
require_file("${prefix}/${BP_PLUGIN_SUBDIR}/sumsq.so" "bundled plugin")
# The modules the binary loads on first use (codec/codec_module.hpp, codec/metadata_module.hpp).
foreach(module batchproc_codec_heif batchproc_codec_opencv batchproc_codec_tiff batchproc_metadata)
  require_file("${prefix}/${BP_CODEC_SUBDIR}/${module}.so" "module loaded on first use")
endforeach()
require_file("${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/plugin.h" "SDK header")
require_file("${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/plugin.hpp" "SDK header")
require_file("${prefix}/${BP_INSTALL_LIBDIR}/cmake/batchproc/batchprocConfig.cmake" "CMake package")
require_file("${prefix}/${BP_INSTALL_LIBDIR}/cmake/batchproc/batchprocConfigVersion.cmake" "CMake package")
require_file("${prefix}/${BP_INSTALL_LIBDIR}/cmake/batchproc/BatchprocPlugin.cmake" "CMake package")
# batchproc_add_plugin() links batchproc::sdk: the installed package must define it.
file(GLOB targets_files "${prefix}/${BP_INSTALL_LIBDIR}/cmake/batchproc/batchprocTargets*.cmake")
set(imported "")
foreach(f ${targets_files})
  file(STRINGS "${f}" lines REGEX "^add_library\\(")
  list(APPEND imported ${lines})
endforeach()
if(NOT imported MATCHES "add_library\\(batchproc::sdk ")
  message(FATAL_ERROR "package test: the installed package does not define the target batchproc::sdk that "
                      "batchproc_add_plugin() links; it defines: ${imported}")
endif()

# ---------------------------------------------------------------------------------- 2
# The sample as a user's project: its own folder, with ../../images beside it as in the
# repository, and no build folder copied from the source tree.
file(COPY "${BP_SOURCE_DIR}/samples/plugins/vignette" DESTINATION "${BP_WORK_DIR}/samples/plugins"
  PATTERN "build" EXCLUDE)
foreach(image ${images})
  file(COPY "${BP_SOURCE_DIR}/samples/images/${image}" DESTINATION "${images_dir}")
endforeach()

set(compiler_args "")
if(BP_CXX_COMPILER)
  set(compiler_args "-DCMAKE_CXX_COMPILER=${BP_CXX_COMPILER}")
endif()
step("configure the sample plugin against the installed package" 0
  "${CMAKE_COMMAND}" -S "${project_dir}" -B "${project_dir}/build" -G "${BP_GENERATOR}" ${compiler_args}
    "-DCMAKE_BUILD_TYPE=${BP_BUILD_TYPE}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Wpedantic -Wshadow -Werror ${BP_SANITIZER_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${BP_SANITIZER_FLAGS}" "-DCMAKE_MODULE_LINKER_FLAGS=${BP_SANITIZER_FLAGS}")

# The package must come from the prefix, not from the build tree or the system.
file(STRINGS "${project_dir}/build/CMakeCache.txt" found_dir REGEX "^batchproc_DIR:")
string(REGEX REPLACE "^batchproc_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${prefix}" real_prefix)
string(FIND "${found_dir}/" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "package test: find_package(batchproc) used ${found_dir}, not the install in ${real_prefix}")
endif()

step("build the sample plugin" 0 "${CMAKE_COMMAND}" --build "${project_dir}/build" --config "${BP_BUILD_TYPE}")
require_file("${project_dir}/build/my_effects.so" "batchproc_add_plugin output, loaded by vignette.yaml")
# The sample's unit tests, through the installed batchproc::testing.
require_file("${prefix}/${BP_INSTALL_INCLUDEDIR}/batchproc/testing.hpp" "stage test harness header")
step("the sample's stage tests (batchproc::testing)" 0
  "${CMAKE_CTEST_COMMAND}" --test-dir "${project_dir}/build" --output-on-failure -C "${BP_BUILD_TYPE}")

# ---------------------------------------------------------------------------------- 3
# The installed binary must find imgproc in <prefix>/lib/batchproc/plugins by itself.
set(clean_env "${CMAKE_COMMAND}" -E env --unset=BATCHPROC_PLUGIN_PATH)
set(config "${project_dir}/vignette.yaml")

step("batchproc validate" 0 ${clean_env} "${installed_exe}" validate "${config}")
step("batchproc run" 0 ${clean_env} "${installed_exe}" run "${config}"
  --set "output.dir=${out_dir}" --report "${report}")

foreach(image ${images})
  get_filename_component(stem "${image}" NAME_WE)
  set(output "${out_dir}/${stem}.jpg")
  require_file("${output}" "output of ${image}")
  file(READ "${output}" magic LIMIT 3 HEX)
  if(NOT magic STREQUAL "ffd8ff")
    message(FATAL_ERROR "package test: ${output} is not a JPEG file (starts with ${magic})")
  endif()
endforeach()
file(GLOB_RECURSE written LIST_DIRECTORIES false RELATIVE "${out_dir}" "${out_dir}/*")
list(FILTER written EXCLUDE REGEX "^\\.batchproc/") # the run journal
list(LENGTH images expected_count)
list(LENGTH written written_count)
if(NOT written_count EQUAL expected_count)
  message(FATAL_ERROR "package test: expected ${expected_count} files in ${out_dir}, found: ${written}")
endif()

# The installed modules load: a TIFF written with the input's metadata (the tiff codec
# module and the metadata module, which the binary does not link).
set(tiff_dir "${BP_WORK_DIR}/out-tiff")
step("batchproc do: TIFF with metadata" 0 ${clean_env} "${installed_exe}" do "${images_dir}/storm-gray.jpg"
  -o "${tiff_dir}" -p "save format=tiff" --metadata keep --journal false -q)
file(GLOB tiffs "${tiff_dir}/storm-gray.*")
if(NOT tiffs)
  message(FATAL_ERROR "package test: batchproc do wrote nothing into ${tiff_dir}")
endif()
file(READ "${tiffs}" magic LIMIT 4 HEX)
if(NOT magic STREQUAL "49492a00" AND NOT magic STREQUAL "4d4d002a")
  message(FATAL_ERROR "package test: ${tiffs} is not a TIFF file (starts with ${magic})")
endif()

require_file("${report}" "--report")
file(READ "${report}" report_json)
string(JSON total GET "${report_json}" summary total)
string(JSON ok GET "${report_json}" summary ok)
if(NOT total EQUAL expected_count OR NOT ok EQUAL expected_count)
  message(FATAL_ERROR "package test: the report counts ${ok} ok of ${total} jobs, expected ${expected_count} of ${expected_count}")
endif()

message(STATUS "package test passed: installed to ${prefix}, built ${project_dir}/build/my_effects.so, "
               "processed ${expected_count} images into ${out_dir}")
