/* SPDX-License-Identifier: MIT */
/* Stand-in for <mach/mach_time.h>: the two calls the HVF backend uses. */
#ifndef AVMM_HVF_FAKE_MACH_TIME_H
#define AVMM_HVF_FAKE_MACH_TIME_H

#include <stdint.h>

struct mach_timebase_info {
	uint32_t numer;
	uint32_t denom;
};
typedef struct mach_timebase_info mach_timebase_info_data_t;
typedef struct mach_timebase_info *mach_timebase_info_t;

/* kern_return_t: 0 = KERN_SUCCESS */
int mach_timebase_info(mach_timebase_info_t info);
uint64_t mach_absolute_time(void);

#endif
