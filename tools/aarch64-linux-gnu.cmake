# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-build avmm for aarch64 Linux with Debian's
# gcc-aarch64-linux-gnu. libc comes from the cross toolchain
# (/usr/aarch64-linux-gnu); libfdt, inih and zlib from a sysroot of extracted
# arm64 packages (tools/cross-build.sh makes it). The sysroot is NOT passed as
# --sysroot, since the toolchain's libc lives outside it.
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=tools/aarch64-linux-gnu.cmake -DAVMM_SYSROOT=<dir> ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT AVMM_CROSS_PREFIX)
  if(DEFINED ENV{AVMM_CROSS_PREFIX})
    set(AVMM_CROSS_PREFIX $ENV{AVMM_CROSS_PREFIX})
  else()
    set(AVMM_CROSS_PREFIX aarch64-linux-gnu-)
  endif()
endif()
set(CMAKE_C_COMPILER ${AVMM_CROSS_PREFIX}gcc)

if(NOT AVMM_SYSROOT)
  if(DEFINED ENV{AVMM_SYSROOT})
    set(AVMM_SYSROOT $ENV{AVMM_SYSROOT})
  else()
    get_filename_component(AVMM_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-arm64 ABSOLUTE)
  endif()
endif()
# try_compile() projects re-read this file: hand the settings down to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES AVMM_SYSROOT AVMM_CROSS_PREFIX)

set(CMAKE_FIND_ROOT_PATH ${AVMM_SYSROOT} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Indirect shared-library dependencies are resolved in the sysroot too.
set(_avmm_libdirs ${AVMM_SYSROOT}/usr/lib/aarch64-linux-gnu ${AVMM_SYSROOT}/lib/aarch64-linux-gnu)
string(REPLACE ";" ":" _avmm_rpath_link "${_avmm_libdirs}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_avmm_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_avmm_rpath_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_avmm_rpath_link}")

# pkg-config (inih ships a .pc file) must only see the arm64 sysroot.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${AVMM_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${AVMM_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${AVMM_SYSROOT})
set(ENV{PKG_CONFIG_PATH} "")
