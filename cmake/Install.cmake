include(CMakePackageConfigHelpers)

install(TARGETS batchproc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY framework/include/batchproc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS batchproc_sdk EXPORT batchprocTargets)
install(EXPORT batchprocTargets NAMESPACE batchproc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc)

configure_package_config_file(cmake/batchprocConfig.cmake.in
  ${PROJECT_BINARY_DIR}/batchprocConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/batchprocConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/batchprocConfig.cmake
  ${PROJECT_BINARY_DIR}/batchprocConfigVersion.cmake
  cmake/BatchprocPlugin.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/batchproc)
