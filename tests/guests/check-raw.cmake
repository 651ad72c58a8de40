# SPDX-License-Identifier: MIT
# Refuse a "raw" guest that is empty, not whole instructions, or still an
# object file (ELF / Mach-O header), so a broken objcopy cannot pass silently.
file(SIZE ${BIN} size)
if(NOT size GREATER 0)
  file(REMOVE ${BIN})
  message(FATAL_ERROR "${BIN}: empty")
endif()
math(EXPR rem "${size} % 4")
if(NOT rem EQUAL 0)
  file(REMOVE ${BIN})
  message(FATAL_ERROR "${BIN}: ${size} bytes, not a whole number of instructions")
endif()
file(READ ${BIN} head LIMIT 4 HEX)
if(head STREQUAL "7f454c46" OR head STREQUAL "cffaedfe" OR head STREQUAL "feedfacf")
  file(REMOVE ${BIN})
  message(FATAL_ERROR "${BIN}: still an object file (magic ${head}), not a raw binary")
endif()
