# gg.cmake: compile a CMake project's C and C++ sources through gg-cc.
#
# Either, without touching the project (CMake 3.24 or newer):
#   cmake -G Ninja -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=/path/to/gg.cmake -S . -B build
# or, in a CMakeLists.txt, before the targets:
#   include(/path/to/gg.cmake)
# then build with `gg ninja -C build` (the whole graph through gg) or plain
# `ninja -C build` (each compile through gg-cc).
#
# GG_CC names gg-cc when it is not on PATH. A compiler launcher already set
# (ccache, say) is replaced, with a message: two caches in a row only add
# work.

if(NOT GG_CC)
  find_program(GG_CC gg-cc DOC "gg's compiler wrapper")
endif()
if(NOT GG_CC)
  message(FATAL_ERROR
    "gg.cmake: gg-cc was not found on PATH; install gg (cargo install --path cli) "
    "or pass -DGG_CC=/path/to/gg-cc")
endif()

foreach(lang C CXX)
  set(_gg_var "CMAKE_${lang}_COMPILER_LAUNCHER")
  if(DEFINED ${_gg_var} AND NOT "${${_gg_var}}" STREQUAL "" AND NOT "${${_gg_var}}" STREQUAL "${GG_CC}")
    message(STATUS "gg.cmake: replacing ${_gg_var} `${${_gg_var}}` with gg-cc")
  endif()
  set(${_gg_var} "${GG_CC}" CACHE STRING "Compiler launcher for ${lang} (set by gg.cmake)" FORCE)
  # A normal variable of the same name would hide the cache entry.
  set(${_gg_var} "${GG_CC}")
endforeach()
unset(_gg_var)
