/*
 * Declarations the darwin backend needs that no public SDK header provides.
 *
 * Apple ships these only in xnu's PRIVATE or kernel-export headers
 * (bsd/sys/proc_info_private.h, osfmk/kern/ledger.h, osfmk/mach/coalition.h,
 * bsd/sys/coalition.h), which the SDK install strips. The layouts below are
 * written from xnu-11417.101.15; the sizes are checked so that a layout slip
 * fails the build instead of reading the wrong bytes at run time.
 *
 * Public SDK headers come first: struct proc_bsdinfo is needed for flavor 18.
 */
#ifndef MEMWATCH_DARWIN_PRIVATE_H
#define MEMWATCH_DARWIN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/proc_info.h>
#include <sys/resource.h>

/* ---- proc_pidinfo flavors from bsd/sys/proc_info_private.h -------------------- */

/* Readable across uids and for zombies (with arg != 0). */
#define MW_PROC_PIDUNIQIDENTIFIERINFO 17
/* Same-uid only: proc_bsdinfo followed by proc_uniqidentifierinfo. */
#define MW_PROC_PIDT_BSDINFOWITHUNIQID 18
/* Readable across uids. */
#define MW_PROC_PIDCOALITIONINFO 20

#ifndef PROC_PIDUNIQIDENTIFIERINFO
#define PROC_PIDUNIQIDENTIFIERINFO MW_PROC_PIDUNIQIDENTIFIERINFO
#endif
#ifndef PROC_PIDT_BSDINFOWITHUNIQID
#define PROC_PIDT_BSDINFOWITHUNIQID MW_PROC_PIDT_BSDINFOWITHUNIQID
#endif
#ifndef PROC_PIDCOALITIONINFO
#define PROC_PIDCOALITIONINFO MW_PROC_PIDCOALITIONINFO
#endif

struct proc_uniqidentifierinfo {
    uint8_t p_uuid[16];
    uint64_t p_uniqueid;  /* unique per process for the life of the boot */
    uint64_t p_puniqueid; /* the parent's p_uniqueid */
    int32_t p_idversion;
    int32_t p_orig_ppidversion;
    uint64_t p_reserve2;
    uint64_t p_reserve3;
};
_Static_assert(sizeof(struct proc_uniqidentifierinfo) == 56, "proc_uniqidentifierinfo is API");

struct proc_bsdinfowithuniqid {
    struct proc_bsdinfo pbsd;
    struct proc_uniqidentifierinfo p_uniqidentifier;
};
_Static_assert(sizeof(struct proc_bsdinfowithuniqid) == 136 + 56, "proc_bsdinfowithuniqid layout");

/* ---- rusage_info_v6: bsd/sys/resource.h, public from the macOS 13 SDK on ------ */

/*
 * Older SDKs (11, 12) stop at V5, but the binaries target macOS 11 and still
 * ask a newer kernel for V6 first (V6 -> V4 -> V2 at run time). Declared here
 * as the 13 SDK has it: the V4 prefix, the V5 flags, the P-core and energy
 * counters, then reserved words up to 464 bytes. Later SDKs name some of the
 * reserved words (ri_secure_time_in_system, ri_neural_footprint, ...); the
 * size and every field read here stay where they were.
 */
#ifndef RUSAGE_INFO_V6
#define RUSAGE_INFO_V6 6
struct rusage_info_v6 {
    uint8_t ri_uuid[16];
    uint64_t ri_user_time;
    uint64_t ri_system_time;
    uint64_t ri_pkg_idle_wkups;
    uint64_t ri_interrupt_wkups;
    uint64_t ri_pageins;
    uint64_t ri_wired_size;
    uint64_t ri_resident_size;
    uint64_t ri_phys_footprint;
    uint64_t ri_proc_start_abstime;
    uint64_t ri_proc_exit_abstime;
    uint64_t ri_child_user_time;
    uint64_t ri_child_system_time;
    uint64_t ri_child_pkg_idle_wkups;
    uint64_t ri_child_interrupt_wkups;
    uint64_t ri_child_pageins;
    uint64_t ri_child_elapsed_abstime;
    uint64_t ri_diskio_bytesread;
    uint64_t ri_diskio_byteswritten;
    uint64_t ri_cpu_time_qos_default;
    uint64_t ri_cpu_time_qos_maintenance;
    uint64_t ri_cpu_time_qos_background;
    uint64_t ri_cpu_time_qos_utility;
    uint64_t ri_cpu_time_qos_legacy;
    uint64_t ri_cpu_time_qos_user_initiated;
    uint64_t ri_cpu_time_qos_user_interactive;
    uint64_t ri_billed_system_time;
    uint64_t ri_serviced_system_time;
    uint64_t ri_logical_writes;
    uint64_t ri_lifetime_max_phys_footprint;
    uint64_t ri_instructions;
    uint64_t ri_cycles;
    uint64_t ri_billed_energy;
    uint64_t ri_serviced_energy;
    uint64_t ri_interval_max_phys_footprint;
    uint64_t ri_runnable_time;
    uint64_t ri_flags;
    uint64_t ri_user_ptime;
    uint64_t ri_system_ptime;
    uint64_t ri_pinstructions;
    uint64_t ri_pcycles;
    uint64_t ri_energy_nj;
    uint64_t ri_penergy_nj;
    uint64_t ri_reserved[14];
};
#define MW_DECLARES_RUSAGE_INFO_V6 1
#endif
/* Whichever declaration is in force, the kernel's V6 layout: */
_Static_assert(sizeof(struct rusage_info_v6) == 464, "rusage_info_v6 is 464 bytes");
_Static_assert(offsetof(struct rusage_info_v6, ri_phys_footprint) == 72,
               "rusage_info_v6 footprint");
_Static_assert(offsetof(struct rusage_info_v6, ri_lifetime_max_phys_footprint) == 240,
               "rusage_info_v6 lifetime peak");
_Static_assert(offsetof(struct rusage_info_v6, ri_interval_max_phys_footprint) == 280,
               "rusage_info_v6 interval peak");
_Static_assert(offsetof(struct rusage_info_v6, ri_flags) == 296, "rusage_info_v6 V5 flags");
_Static_assert(offsetof(struct rusage_info_v6, ri_penergy_nj) == 344,
               "rusage_info_v6 last 13 SDK field");

/* ---- coalitions: osfmk/mach/coalition.h, bsd/sys/coalition.h ------------------ */

#ifndef COALITION_TYPE_RESOURCE
#define COALITION_TYPE_RESOURCE 0
#define COALITION_TYPE_JETSAM   1
#define COALITION_NUM_TYPES     2
#endif
#define MW_COALITION_NUM_THREAD_QOS_TYPES 7

struct proc_pidcoalitioninfo {
    uint64_t coalition_id[COALITION_NUM_TYPES]; /* 0: none */
    uint64_t reserved1;
    uint64_t reserved2;
    uint64_t reserved3;
};
_Static_assert(sizeof(struct proc_pidcoalitioninfo) == 40, "proc_pidcoalitioninfo layout");

/*
 * The kernel copies min(size asked, its own size) and reports neither, so
 * fields a kernel does not know stay as the caller left them (zero). The
 * field report on macOS 26.5 saw a 45-word struct; fields after
 * cpu_time_eqos are therefore not trusted to be where this layout puts them
 * on kernels newer than xnu-11417 (whose bsd/sys/coalition.h this follows).
 */
struct coalition_resource_usage {
    uint64_t tasks_started;
    uint64_t tasks_exited;
    uint64_t time_nonempty; /* ns (the kernel converts) */
    uint64_t cpu_time;      /* mach units */
    uint64_t interrupt_wakeups;
    uint64_t platform_idle_wakeups;
    uint64_t bytesread;
    uint64_t byteswritten;
    uint64_t gpu_time;                  /* ns */
    uint64_t cpu_time_billed_to_me;     /* mach units */
    uint64_t cpu_time_billed_to_others; /* mach units */
    uint64_t energy;                    /* nJ */
    uint64_t logical_immediate_writes;
    uint64_t logical_deferred_writes;
    uint64_t logical_invalidated_writes;
    uint64_t logical_metadata_writes;
    uint64_t logical_immediate_writes_to_external;
    uint64_t logical_deferred_writes_to_external;
    uint64_t logical_invalidated_writes_to_external;
    uint64_t logical_metadata_writes_to_external;
    uint64_t energy_billed_to_me;     /* nJ */
    uint64_t energy_billed_to_others; /* nJ */
    uint64_t cpu_ptime;               /* mach units */
    uint64_t cpu_time_eqos_len;
    uint64_t cpu_time_eqos[MW_COALITION_NUM_THREAD_QOS_TYPES];
    uint64_t cpu_instructions;
    uint64_t cpu_cycles;
    uint64_t fs_metadata_writes;
    uint64_t pm_writes;
    uint64_t cpu_pinstructions;
    uint64_t cpu_pcycles;
    uint64_t conclave_mem;
    uint64_t ane_mach_time; /* mach units */
    uint64_t ane_energy_nj;
    uint64_t phys_footprint; /* sum of the members' phys_footprint (xnu >= 11215) */
    uint64_t gpu_energy_nj;
    uint64_t gpu_energy_nj_billed_to_me;
    uint64_t gpu_energy_nj_billed_to_others;
};
_Static_assert(sizeof(struct coalition_resource_usage) == (size_t)44 * 8,
               "coalition_resource_usage at xnu-11417");
_Static_assert(offsetof(struct coalition_resource_usage, phys_footprint) == (size_t)40 * 8,
               "coalition phys_footprint is word 40");

/* A libsystem_kernel export (libsyscall/wrappers/coalition.c). */
int coalition_info_resource_usage(uint64_t cid, struct coalition_resource_usage *cru, size_t sz);

/* Listing coalitions: libproc's proc_listcoalitions (bsd/sys/proc_info_private.h,
 * libsyscall/wrappers/libproc). It answers the bytes copied, or the bytes
 * needed with a NULL buffer; -1 and errno on failure. */
#define MW_LISTCOALITIONS_SINGLE_TYPE 2
struct procinfo_coalinfo {
    uint64_t coalition_id;
    uint32_t coalition_type;
    uint32_t coalition_tasks; /* tasks in it now, every user's */
};
_Static_assert(sizeof(struct procinfo_coalinfo) == 16, "procinfo_coalinfo layout");
int proc_listcoalitions(int flavor, int coaltype, void *buffer, int buffersize);

/* A task's role in each of its coalitions: sysctl kern.coalition_roles, the
 * pid as new value, int[COALITION_NUM_TYPES] out (osfmk/mach/coalition.h). */
#define MW_COALITION_ROLES_SYSCTL    "kern.coalition_roles"
#define MW_COALITION_TASKROLE_LEADER 1

/* ---- the ledger() syscall: osfmk/kern/ledger.h, bsd/kern/sys_generic.c --------- */

#define LEDGER_INFO          0 /* arg1 pid, arg2 struct ledger_info * */
#define LEDGER_ENTRY_INFO    1 /* arg1 pid, arg2 entries, arg3 int * capacity in, count out */
#define LEDGER_TEMPLATE_INFO 2 /* arg1 templates, arg2 int * capacity in, count out; no pid */
#define LEDGER_NAME_MAX      32
#define MW_LEDGER_SYSCALL    373

struct ledger_info {
    char li_name[LEDGER_NAME_MAX];
    int64_t li_id;
    int64_t li_entries; /* entries in the template */
};

/* Names are NUL-padded but not guaranteed NUL-terminated at 32 bytes. */
struct ledger_template_info {
    char lti_name[LEDGER_NAME_MAX];
    char lti_group[LEDGER_NAME_MAX];
    char lti_units[LEDGER_NAME_MAX];
};

struct ledger_entry_info {
    int64_t lei_balance; /* credit - debit */
    int64_t lei_credit;
    int64_t lei_debit;
    uint64_t lei_limit;
    uint64_t lei_refill_period; /* ns */
    uint64_t lei_last_refill;   /* ns */
};

_Static_assert(sizeof(struct ledger_info) == 48, "ledger_info layout");
_Static_assert(sizeof(struct ledger_template_info) == 96, "ledger_template_info layout");
_Static_assert(sizeof(struct ledger_entry_info) == 48, "ledger_entry_info layout");

/*
 * Syscall 373 has a stub in libsystem_kernel but no userland prototype; the
 * arguments are caddr_t (char *). The pointer arguments carry either a pid
 * (cast through intptr_t) or a buffer, depending on cmd.
 */
int ledger(int cmd, char *arg1, char *arg2, char *arg3);

#endif
