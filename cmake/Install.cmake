include(CMakePackageConfigHelpers)

install(TARGETS batchproc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The plugin SDK's headers; batchproc::mp's are installed with it below.
install(DIRECTORY framework/include/batchproc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  PATTERN "mp" EXCLUDE
  PATTERN "mp.hpp" EXCLUDE)
install(TARGETS batchproc_sdk batchproc_testing EXPORT batchprocTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT batchprocTargets NAMESPACE batchproc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc)

# batchproc::mp, the process library: its archive, headers and targets form the component
# "mp" with the package files, so that `cmake --install <build> --component mp` installs the
# library alone (what a program that only wants processes needs: no OpenCV, no CLI).
install(TARGETS batchproc_mp EXPORT batchprocMpTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mp)
install(DIRECTORY framework/include/batchproc/mp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/batchproc COMPONENT mp)
install(FILES framework/include/batchproc/mp.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/batchproc COMPONENT mp)
install(EXPORT batchprocMpTargets NAMESPACE batchproc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc
  COMPONENT mp)

configure_package_config_file(cmake/batchprocConfig.cmake.in
  ${PROJECT_BINARY_DIR}/batchprocConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/batchprocConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/batchprocConfig.cmake
  ${PROJECT_BINARY_DIR}/batchprocConfigVersion.cmake
  cmake/BatchprocPlugin.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc
  COMPONENT mp)
