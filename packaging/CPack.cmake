# packaging/CPack.cmake - what `make install` puts where (binaries, systemd
# units, the example configuration, man pages, Debian docs) and the .deb that
# `cmake --build BUILD --target package` makes of it. Included from the top
# CMakeLists.txt. The RPM is built from packaging/rpm/s3statusd.spec instead.

# ---- install layout ----------------------------------------------------------
# The daemon reads /etc/s3statusd/s3statusd.conf and the units run
# /usr/bin/s3statusd whatever CMAKE_INSTALL_PREFIX is, so these two are
# absolute (the RPM spec passes its own %{_unitdir}).
set(S3S_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "where the systemd units go")
set(S3S_CONF_DIR "/etc/s3statusd" CACHE PATH "where the example configuration goes")
set(S3S_DEB_DOCS ON CACHE BOOL "install copyright and changelog.Debian.gz into the doc dir")

install(FILES ${CMAKE_SOURCE_DIR}/systemd/s3statusd.service
              ${CMAKE_SOURCE_DIR}/systemd/s3statusd@.service
        DESTINATION ${S3S_SYSTEMD_UNIT_DIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# World-readable on purpose: it holds no secrets, and the units run the
# daemon as a DynamicUser= that must read it.
install(FILES ${CMAKE_SOURCE_DIR}/examples/s3statusd.conf DESTINATION ${S3S_CONF_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Man pages and the Debian changelog, compressed as Debian wants them
# (gzip -9n: no name, no timestamp, so the package is reproducible).
find_program(S3S_GZIP gzip REQUIRED)
set(S3S_MAN_PAGES s3statusd.8 s3status.1 s3statusd.conf.5)
set(S3S_GZ_OUTPUTS)
foreach(page ${S3S_MAN_PAGES})
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
  set(out ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${S3S_GZIP} -9n -c ${CMAKE_SOURCE_DIR}/man/${page} > ${out}
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${page} VERBATIM)
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  list(APPEND S3S_GZ_OUTPUTS ${out})
endforeach()
set(S3S_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz)
add_custom_command(OUTPUT ${S3S_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND ${S3S_GZIP} -9n -c ${CMAKE_SOURCE_DIR}/packaging/debian/changelog > ${S3S_CHANGELOG_GZ}
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/debian/changelog VERBATIM)
list(APPEND S3S_GZ_OUTPUTS ${S3S_CHANGELOG_GZ})
add_custom_target(s3s_compressed_docs ALL DEPENDS ${S3S_GZ_OUTPUTS})
if(S3S_DEB_DOCS)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright ${S3S_CHANGELOG_GZ}
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/s3statusd)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME s3statusd)
endif()

# ---- the .deb ----------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "s3statusd")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "records batch and task status events from Amazon SQS in S3")
# The extended description (CPack indents it; an empty line becomes " .").
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"s3statusd long-polls an SQS queue for small JSON status commands sent by
batch workers, schedulers and AWS Step Functions, writes one S3 object per
status event in a layout Athena can query, and deletes each message only
after its object is stored. Messages that can never succeed, or keep
failing, go to a dead-letter queue with the reason attached.

The package holds the daemon (a hardened systemd service, plain and
template unit), the s3status command-line tool and an example
configuration.")
set(S3S_DEB_MAINTAINER "s3statusd maintainers <maintainers@users.noreply.r-seed-fbaaddeb.example>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${S3S_DEB_MAINTAINER}")
set(CPACK_PACKAGE_CONTACT "${S3S_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends from the binaries' ELF dependencies (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# Binaries are stripped in the package (lintian: unstripped-binary-or-object).
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# conffiles marks /etc/s3statusd/s3statusd.conf as the admin's; the scripts
# reload systemd and restart running instances on upgrade (nothing is enabled
# or started on a first install: queue_url and bucket must be set first).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
