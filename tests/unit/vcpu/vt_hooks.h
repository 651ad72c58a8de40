/* SPDX-License-Identifier: MIT */
/*
 * What the test plugins report back to test_vcpu: the test executable exports
 * these (ENABLE_EXPORTS) and the plugins, loaded RTLD_NOW, bind to them.
 */
#ifndef AVMM_TEST_VT_HOOKS_H
#define AVMM_TEST_VT_HOOKS_H

#include <avmm/avmm.h>

/* A device was reset (guest SYSTEM_RESET) or destroyed; `who` is its name. */
AVMM_EXPORT void vt_device_reset(const char *who);
AVMM_EXPORT void vt_device_destroyed(const char *who);
/* A CPU timer output, as the interrupt controller was told of it. */
AVMM_EXPORT void vt_cpu_timer(unsigned cpu, enum avmm_cpu_timer timer, bool level);

#endif
