/*
 * Test shim: the rusage_info flavors of Apple's <sys/resource.h> that the
 * darwin backend uses (xnu bsd/sys/resource.h). It replaces glibc's header
 * of the same name, but only for the darwin sources and the fake, which use
 * nothing else from it.
 */
#ifndef MW_SHIM_SYS_RESOURCE_H
#define MW_SHIM_SYS_RESOURCE_H

#include <stdint.h>

#define RUSAGE_INFO_V0      0
#define RUSAGE_INFO_V1      1
#define RUSAGE_INFO_V2      2
#define RUSAGE_INFO_V3      3
#define RUSAGE_INFO_V4      4
#define RUSAGE_INFO_V5      5
#define RUSAGE_INFO_V6      6
#define RUSAGE_INFO_CURRENT RUSAGE_INFO_V6

typedef void *rusage_info_t;

/* The V2 and V4 prefixes: every later flavor extends the earlier one. */
#define MW_SHIM_RUSAGE_V2_FIELDS                                                                   \
    uint8_t ri_uuid[16];                                                                           \
    uint64_t ri_user_time;                                                                         \
    uint64_t ri_system_time;                                                                       \
    uint64_t ri_pkg_idle_wkups;                                                                    \
    uint64_t ri_interrupt_wkups;                                                                   \
    uint64_t ri_pageins;                                                                           \
    uint64_t ri_wired_size;                                                                        \
    uint64_t ri_resident_size;                                                                     \
    uint64_t ri_phys_footprint;                                                                    \
    uint64_t ri_proc_start_abstime;                                                                \
    uint64_t ri_proc_exit_abstime;                                                                 \
    uint64_t ri_child_user_time;                                                                   \
    uint64_t ri_child_system_time;                                                                 \
    uint64_t ri_child_pkg_idle_wkups;                                                              \
    uint64_t ri_child_interrupt_wkups;                                                             \
    uint64_t ri_child_pageins;                                                                     \
    uint64_t ri_child_elapsed_abstime;                                                             \
    uint64_t ri_diskio_bytesread;                                                                  \
    uint64_t ri_diskio_byteswritten;

#define MW_SHIM_RUSAGE_V4_FIELDS                                                                   \
    MW_SHIM_RUSAGE_V2_FIELDS                                                                       \
    uint64_t ri_cpu_time_qos_default;                                                              \
    uint64_t ri_cpu_time_qos_maintenance;                                                          \
    uint64_t ri_cpu_time_qos_background;                                                           \
    uint64_t ri_cpu_time_qos_utility;                                                              \
    uint64_t ri_cpu_time_qos_legacy;                                                               \
    uint64_t ri_cpu_time_qos_user_initiated;                                                       \
    uint64_t ri_cpu_time_qos_user_interactive;                                                     \
    uint64_t ri_billed_system_time;                                                                \
    uint64_t ri_serviced_system_time;                                                              \
    uint64_t ri_logical_writes;                                                                    \
    uint64_t ri_lifetime_max_phys_footprint;                                                       \
    uint64_t ri_instructions;                                                                      \
    uint64_t ri_cycles;                                                                            \
    uint64_t ri_billed_energy;                                                                     \
    uint64_t ri_serviced_energy;                                                                   \
    uint64_t ri_interval_max_phys_footprint;                                                       \
    uint64_t ri_runnable_time;

struct rusage_info_v2 {
    MW_SHIM_RUSAGE_V2_FIELDS
};

struct rusage_info_v4 {
    MW_SHIM_RUSAGE_V4_FIELDS
};

struct rusage_info_v6 {
    MW_SHIM_RUSAGE_V4_FIELDS
    uint64_t ri_flags;
    uint64_t ri_user_ptime;
    uint64_t ri_system_ptime;
    uint64_t ri_pinstructions;
    uint64_t ri_pcycles;
    uint64_t ri_energy_nj;
    uint64_t ri_penergy_nj;
    uint64_t ri_secure_time_in_system;
    uint64_t ri_secure_ptime_in_system;
    uint64_t ri_neural_footprint;
    uint64_t ri_lifetime_max_neural_footprint;
    uint64_t ri_interval_max_neural_footprint;
    uint64_t ri_reserved[9];
};

_Static_assert(sizeof(struct rusage_info_v2) == 160, "rusage_info_v2 layout");
_Static_assert(sizeof(struct rusage_info_v4) == 296, "rusage_info_v4 layout");
_Static_assert(sizeof(struct rusage_info_v6) == 464, "rusage_info_v6 layout");

#endif
