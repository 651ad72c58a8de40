/* SPDX-License-Identifier: MIT */
#ifndef AVMM_VERSION_H
#define AVMM_VERSION_H

/*
 * Plugin ABI version.  Bump MINOR when appending members to a public struct;
 * bump MAJOR (and reset MINOR) for anything else.
 */
#define AVMM_ABI_MAJOR 1
#define AVMM_ABI_MINOR 1

#define AVMM_VERSION_STRING "0.1.0"

#endif /* AVMM_VERSION_H */
