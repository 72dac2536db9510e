/*
 * Test shim: Apple's <mach/mach_time.h> (xnu osfmk/mach/mach_time.h).
 */
#ifndef MW_SHIM_MACH_MACH_TIME_H
#define MW_SHIM_MACH_MACH_TIME_H

#include <stdint.h>

typedef int kern_return_t;

struct mach_timebase_info {
    uint32_t numer;
    uint32_t denom;
};
typedef struct mach_timebase_info *mach_timebase_info_t;
typedef struct mach_timebase_info mach_timebase_info_data_t;

kern_return_t mach_timebase_info(mach_timebase_info_t info);

#endif
