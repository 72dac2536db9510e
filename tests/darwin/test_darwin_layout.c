/*
 * The layouts and constants of the shim (tests/darwin/shim) and of
 * darwin_private.h, checked against numbers measured from Apple's real
 * headers: xnu tag xnu-11417.101.15 (github.com/apple-oss-distributions/xnu).
 *
 * How the numbers were measured (nothing from xnu is copied here; field
 * names and numbers are facts): the real headers were compiled with clang
 * --target=arm64-apple-macos13 and --target=x86_64-apple-macos13 against a
 * few stubs for files xnu does not ship (TargetConditionals.h,
 * os/availability.h, sys/_symbol_aliasing.h, sys/_posix_availability.h,
 * sys/_pthread/, the MIG-generated mach headers, a Libc subset), and every
 * offsetof, member sizeof, struct sizeof and _Alignof below was read from
 * the compiled object and from -fdump-record-layouts. Both targets gave
 * identical numbers. tests/darwin/check_sdk_headers.sh repeats the
 * compile-side half of that check against an SDK or an xnu checkout.
 *
 * If one of these fails, the shim or darwin_private.h no longer describes
 * what a Mac's kernel copies out: fix the declaration, not the number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <sys/resource.h>
#include <sys/sysctl.h>

#include "backend/darwin/darwin_private.h"

/*
 * Whose declarations are checked, as a macOS SDK major version: the shim
 * follows xnu-11417 (macOS 15); a real SDK says its own (Availability.h).
 * rusage_info_v6 is the SDK's from 13 on (darwin_private.h's before), and
 * names more of its reserved words from 14 (ri_secure_*) and 15 (ri_neural_*).
 */
#ifdef MW_SHIM_SYS_RESOURCE_H
#define MW_LAYOUT_SDK 15
#else
#include <Availability.h>
#define MW_LAYOUT_SDK (__MAC_OS_X_VERSION_MAX_ALLOWED / 10000)
#endif

typedef struct layout_row {
    const char *what;
    size_t got;  /* ours */
    size_t want; /* measured from xnu-11417.101.15 */
} layout_row;

#define STRUCT(s, size, align)                                                                     \
    {"sizeof(struct " #s ")", sizeof(struct s), size},                                             \
    {                                                                                              \
        "_Alignof(struct " #s ")", _Alignof(struct s), align                                       \
    }
#define FIELD(s, f, off, size)                                                                     \
    {"offsetof(struct " #s ", " #f ")", offsetof(struct s, f), off},                               \
    {                                                                                              \
        "sizeof(((struct " #s " *)0)->" #f ")", sizeof(((struct s *)0)->f), size                   \
    }
#define ROWS(a) a, sizeof a / sizeof a[0]

/* Reports every mismatch of a table, then fails if there was one. */
static void check_rows(const layout_row *rows, size_t n)
{
    size_t bad = 0;

    for (size_t i = 0; i < n; i++) {
        if (rows[i].got != rows[i].want) {
            print_error("%s: ours %zu, xnu-11417.101.15 %zu\n", rows[i].what, rows[i].got,
                        rows[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* struct rusage_info_v2: xnu bsd/sys/resource.h */
static const layout_row rusage_info_v2_rows[] = {
    STRUCT(rusage_info_v2, 160, 8),
    FIELD(rusage_info_v2, ri_uuid, 0, 16),
    FIELD(rusage_info_v2, ri_user_time, 16, 8),
    FIELD(rusage_info_v2, ri_system_time, 24, 8),
    FIELD(rusage_info_v2, ri_pkg_idle_wkups, 32, 8),
    FIELD(rusage_info_v2, ri_interrupt_wkups, 40, 8),
    FIELD(rusage_info_v2, ri_pageins, 48, 8),
    FIELD(rusage_info_v2, ri_wired_size, 56, 8),
    FIELD(rusage_info_v2, ri_resident_size, 64, 8),
    FIELD(rusage_info_v2, ri_phys_footprint, 72, 8),
    FIELD(rusage_info_v2, ri_proc_start_abstime, 80, 8),
    FIELD(rusage_info_v2, ri_proc_exit_abstime, 88, 8),
    FIELD(rusage_info_v2, ri_child_user_time, 96, 8),
    FIELD(rusage_info_v2, ri_child_system_time, 104, 8),
    FIELD(rusage_info_v2, ri_child_pkg_idle_wkups, 112, 8),
    FIELD(rusage_info_v2, ri_child_interrupt_wkups, 120, 8),
    FIELD(rusage_info_v2, ri_child_pageins, 128, 8),
    FIELD(rusage_info_v2, ri_child_elapsed_abstime, 136, 8),
    FIELD(rusage_info_v2, ri_diskio_bytesread, 144, 8),
    FIELD(rusage_info_v2, ri_diskio_byteswritten, 152, 8),
};

/* struct rusage_info_v4: xnu bsd/sys/resource.h */
static const layout_row rusage_info_v4_rows[] = {
    STRUCT(rusage_info_v4, 296, 8),
    FIELD(rusage_info_v4, ri_uuid, 0, 16),
    FIELD(rusage_info_v4, ri_user_time, 16, 8),
    FIELD(rusage_info_v4, ri_system_time, 24, 8),
    FIELD(rusage_info_v4, ri_pkg_idle_wkups, 32, 8),
    FIELD(rusage_info_v4, ri_interrupt_wkups, 40, 8),
    FIELD(rusage_info_v4, ri_pageins, 48, 8),
    FIELD(rusage_info_v4, ri_wired_size, 56, 8),
    FIELD(rusage_info_v4, ri_resident_size, 64, 8),
    FIELD(rusage_info_v4, ri_phys_footprint, 72, 8),
    FIELD(rusage_info_v4, ri_proc_start_abstime, 80, 8),
    FIELD(rusage_info_v4, ri_proc_exit_abstime, 88, 8),
    FIELD(rusage_info_v4, ri_child_user_time, 96, 8),
    FIELD(rusage_info_v4, ri_child_system_time, 104, 8),
    FIELD(rusage_info_v4, ri_child_pkg_idle_wkups, 112, 8),
    FIELD(rusage_info_v4, ri_child_interrupt_wkups, 120, 8),
    FIELD(rusage_info_v4, ri_child_pageins, 128, 8),
    FIELD(rusage_info_v4, ri_child_elapsed_abstime, 136, 8),
    FIELD(rusage_info_v4, ri_diskio_bytesread, 144, 8),
    FIELD(rusage_info_v4, ri_diskio_byteswritten, 152, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_default, 160, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_maintenance, 168, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_background, 176, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_utility, 184, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_legacy, 192, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_user_initiated, 200, 8),
    FIELD(rusage_info_v4, ri_cpu_time_qos_user_interactive, 208, 8),
    FIELD(rusage_info_v4, ri_billed_system_time, 216, 8),
    FIELD(rusage_info_v4, ri_serviced_system_time, 224, 8),
    FIELD(rusage_info_v4, ri_logical_writes, 232, 8),
    FIELD(rusage_info_v4, ri_lifetime_max_phys_footprint, 240, 8),
    FIELD(rusage_info_v4, ri_instructions, 248, 8),
    FIELD(rusage_info_v4, ri_cycles, 256, 8),
    FIELD(rusage_info_v4, ri_billed_energy, 264, 8),
    FIELD(rusage_info_v4, ri_serviced_energy, 272, 8),
    FIELD(rusage_info_v4, ri_interval_max_phys_footprint, 280, 8),
    FIELD(rusage_info_v4, ri_runnable_time, 288, 8),
};

/* struct rusage_info_v6: xnu bsd/sys/resource.h */
static const layout_row rusage_info_v6_rows[] = {
    STRUCT(rusage_info_v6, 464, 8),
    FIELD(rusage_info_v6, ri_uuid, 0, 16),
    FIELD(rusage_info_v6, ri_user_time, 16, 8),
    FIELD(rusage_info_v6, ri_system_time, 24, 8),
    FIELD(rusage_info_v6, ri_pkg_idle_wkups, 32, 8),
    FIELD(rusage_info_v6, ri_interrupt_wkups, 40, 8),
    FIELD(rusage_info_v6, ri_pageins, 48, 8),
    FIELD(rusage_info_v6, ri_wired_size, 56, 8),
    FIELD(rusage_info_v6, ri_resident_size, 64, 8),
    FIELD(rusage_info_v6, ri_phys_footprint, 72, 8),
    FIELD(rusage_info_v6, ri_proc_start_abstime, 80, 8),
    FIELD(rusage_info_v6, ri_proc_exit_abstime, 88, 8),
    FIELD(rusage_info_v6, ri_child_user_time, 96, 8),
    FIELD(rusage_info_v6, ri_child_system_time, 104, 8),
    FIELD(rusage_info_v6, ri_child_pkg_idle_wkups, 112, 8),
    FIELD(rusage_info_v6, ri_child_interrupt_wkups, 120, 8),
    FIELD(rusage_info_v6, ri_child_pageins, 128, 8),
    FIELD(rusage_info_v6, ri_child_elapsed_abstime, 136, 8),
    FIELD(rusage_info_v6, ri_diskio_bytesread, 144, 8),
    FIELD(rusage_info_v6, ri_diskio_byteswritten, 152, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_default, 160, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_maintenance, 168, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_background, 176, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_utility, 184, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_legacy, 192, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_user_initiated, 200, 8),
    FIELD(rusage_info_v6, ri_cpu_time_qos_user_interactive, 208, 8),
    FIELD(rusage_info_v6, ri_billed_system_time, 216, 8),
    FIELD(rusage_info_v6, ri_serviced_system_time, 224, 8),
    FIELD(rusage_info_v6, ri_logical_writes, 232, 8),
    FIELD(rusage_info_v6, ri_lifetime_max_phys_footprint, 240, 8),
    FIELD(rusage_info_v6, ri_instructions, 248, 8),
    FIELD(rusage_info_v6, ri_cycles, 256, 8),
    FIELD(rusage_info_v6, ri_billed_energy, 264, 8),
    FIELD(rusage_info_v6, ri_serviced_energy, 272, 8),
    FIELD(rusage_info_v6, ri_interval_max_phys_footprint, 280, 8),
    FIELD(rusage_info_v6, ri_runnable_time, 288, 8),
    FIELD(rusage_info_v6, ri_flags, 296, 8),
    FIELD(rusage_info_v6, ri_user_ptime, 304, 8),
    FIELD(rusage_info_v6, ri_system_ptime, 312, 8),
    FIELD(rusage_info_v6, ri_pinstructions, 320, 8),
    FIELD(rusage_info_v6, ri_pcycles, 328, 8),
    FIELD(rusage_info_v6, ri_energy_nj, 336, 8),
    FIELD(rusage_info_v6, ri_penergy_nj, 344, 8),
/* Later SDKs name reserved words; the size stays 464. */
#if MW_LAYOUT_SDK >= 14
    FIELD(rusage_info_v6, ri_secure_time_in_system, 352, 8),
    FIELD(rusage_info_v6, ri_secure_ptime_in_system, 360, 8),
#endif
#if MW_LAYOUT_SDK >= 15
    FIELD(rusage_info_v6, ri_neural_footprint, 368, 8),
    FIELD(rusage_info_v6, ri_lifetime_max_neural_footprint, 376, 8),
    FIELD(rusage_info_v6, ri_interval_max_neural_footprint, 384, 8),
    FIELD(rusage_info_v6, ri_reserved, 392, 72),
#elif MW_LAYOUT_SDK == 14
    FIELD(rusage_info_v6, ri_reserved, 368, 96),
#else
    FIELD(rusage_info_v6, ri_reserved, 352, 112), /* the 13 SDK's, and darwin_private.h's */
#endif
};

/* struct proc_bsdinfo: xnu bsd/sys/proc_info.h */
static const layout_row proc_bsdinfo_rows[] = {
    STRUCT(proc_bsdinfo, 136, 8),
    FIELD(proc_bsdinfo, pbi_flags, 0, 4),
    FIELD(proc_bsdinfo, pbi_status, 4, 4),
    FIELD(proc_bsdinfo, pbi_xstatus, 8, 4),
    FIELD(proc_bsdinfo, pbi_pid, 12, 4),
    FIELD(proc_bsdinfo, pbi_ppid, 16, 4),
    FIELD(proc_bsdinfo, pbi_uid, 20, 4),
    FIELD(proc_bsdinfo, pbi_gid, 24, 4),
    FIELD(proc_bsdinfo, pbi_ruid, 28, 4),
    FIELD(proc_bsdinfo, pbi_rgid, 32, 4),
    FIELD(proc_bsdinfo, pbi_svuid, 36, 4),
    FIELD(proc_bsdinfo, pbi_svgid, 40, 4),
    FIELD(proc_bsdinfo, rfu_1, 44, 4),
    FIELD(proc_bsdinfo, pbi_comm, 48, 16),
    FIELD(proc_bsdinfo, pbi_name, 64, 32),
    FIELD(proc_bsdinfo, pbi_nfiles, 96, 4),
    FIELD(proc_bsdinfo, pbi_pgid, 100, 4),
    FIELD(proc_bsdinfo, pbi_pjobc, 104, 4),
    FIELD(proc_bsdinfo, e_tdev, 108, 4),
    FIELD(proc_bsdinfo, e_tpgid, 112, 4),
    FIELD(proc_bsdinfo, pbi_nice, 116, 4),
    FIELD(proc_bsdinfo, pbi_start_tvsec, 120, 8),
    FIELD(proc_bsdinfo, pbi_start_tvusec, 128, 8),
};

/* struct proc_bsdshortinfo: xnu bsd/sys/proc_info.h */
/* struct proc_regioninfo, vinfo_stat, vnode_info, vnode_info_path,
 * proc_regionwithpathinfo: xnu bsd/sys/proc_info.h (PROC_PIDREGIONPATHINFO) */
static const layout_row proc_region_rows[] = {
    STRUCT(proc_regioninfo, 96, 8),
    FIELD(proc_regioninfo, pri_protection, 0, 4),
    FIELD(proc_regioninfo, pri_max_protection, 4, 4),
    FIELD(proc_regioninfo, pri_inheritance, 8, 4),
    FIELD(proc_regioninfo, pri_flags, 12, 4),
    FIELD(proc_regioninfo, pri_offset, 16, 8),
    FIELD(proc_regioninfo, pri_behavior, 24, 4),
    FIELD(proc_regioninfo, pri_user_wired_count, 28, 4),
    FIELD(proc_regioninfo, pri_user_tag, 32, 4),
    FIELD(proc_regioninfo, pri_pages_resident, 36, 4),
    FIELD(proc_regioninfo, pri_pages_shared_now_private, 40, 4),
    FIELD(proc_regioninfo, pri_pages_swapped_out, 44, 4),
    FIELD(proc_regioninfo, pri_pages_dirtied, 48, 4),
    FIELD(proc_regioninfo, pri_ref_count, 52, 4),
    FIELD(proc_regioninfo, pri_shadow_depth, 56, 4),
    FIELD(proc_regioninfo, pri_share_mode, 60, 4),
    FIELD(proc_regioninfo, pri_private_pages_resident, 64, 4),
    FIELD(proc_regioninfo, pri_shared_pages_resident, 68, 4),
    FIELD(proc_regioninfo, pri_obj_id, 72, 4),
    FIELD(proc_regioninfo, pri_depth, 76, 4),
    FIELD(proc_regioninfo, pri_address, 80, 8),
    FIELD(proc_regioninfo, pri_size, 88, 8),
    STRUCT(vinfo_stat, 136, 8),
    FIELD(vinfo_stat, vst_dev, 0, 4),
    FIELD(vinfo_stat, vst_mode, 4, 2),
    FIELD(vinfo_stat, vst_nlink, 6, 2),
    FIELD(vinfo_stat, vst_ino, 8, 8),
    FIELD(vinfo_stat, vst_uid, 16, 4),
    FIELD(vinfo_stat, vst_gid, 20, 4),
    FIELD(vinfo_stat, vst_atime, 24, 8),
    FIELD(vinfo_stat, vst_size, 88, 8),
    FIELD(vinfo_stat, vst_blocks, 96, 8),
    FIELD(vinfo_stat, vst_blksize, 104, 4),
    FIELD(vinfo_stat, vst_flags, 108, 4),
    FIELD(vinfo_stat, vst_gen, 112, 4),
    FIELD(vinfo_stat, vst_rdev, 116, 4),
    FIELD(vinfo_stat, vst_qspare, 120, 16),
    STRUCT(vnode_info, 152, 8),
    FIELD(vnode_info, vi_stat, 0, 136),
    FIELD(vnode_info, vi_type, 136, 4),
    FIELD(vnode_info, vi_pad, 140, 4),
    FIELD(vnode_info, vi_fsid, 144, 8),
    STRUCT(vnode_info_path, 1176, 8),
    FIELD(vnode_info_path, vip_vi, 0, 152),
    FIELD(vnode_info_path, vip_path, 152, 1024),
    STRUCT(proc_regionwithpathinfo, 1272, 8),
    FIELD(proc_regionwithpathinfo, prp_prinfo, 0, 96),
    FIELD(proc_regionwithpathinfo, prp_vip, 96, 1176),
};

static const layout_row proc_bsdshortinfo_rows[] = {
    STRUCT(proc_bsdshortinfo, 64, 4),
    FIELD(proc_bsdshortinfo, pbsi_pid, 0, 4),
    FIELD(proc_bsdshortinfo, pbsi_ppid, 4, 4),
    FIELD(proc_bsdshortinfo, pbsi_pgid, 8, 4),
    FIELD(proc_bsdshortinfo, pbsi_status, 12, 4),
    FIELD(proc_bsdshortinfo, pbsi_comm, 16, 16),
    FIELD(proc_bsdshortinfo, pbsi_flags, 32, 4),
    FIELD(proc_bsdshortinfo, pbsi_uid, 36, 4),
    FIELD(proc_bsdshortinfo, pbsi_gid, 40, 4),
    FIELD(proc_bsdshortinfo, pbsi_ruid, 44, 4),
    FIELD(proc_bsdshortinfo, pbsi_rgid, 48, 4),
    FIELD(proc_bsdshortinfo, pbsi_svuid, 52, 4),
    FIELD(proc_bsdshortinfo, pbsi_svgid, 56, 4),
    FIELD(proc_bsdshortinfo, pbsi_rfu, 60, 4),
};

/* struct proc_taskinfo: xnu bsd/sys/proc_info.h */
static const layout_row proc_taskinfo_rows[] = {
    STRUCT(proc_taskinfo, 96, 8),
    FIELD(proc_taskinfo, pti_virtual_size, 0, 8),
    FIELD(proc_taskinfo, pti_resident_size, 8, 8),
    FIELD(proc_taskinfo, pti_total_user, 16, 8),
    FIELD(proc_taskinfo, pti_total_system, 24, 8),
    FIELD(proc_taskinfo, pti_threads_user, 32, 8),
    FIELD(proc_taskinfo, pti_threads_system, 40, 8),
    FIELD(proc_taskinfo, pti_policy, 48, 4),
    FIELD(proc_taskinfo, pti_faults, 52, 4),
    FIELD(proc_taskinfo, pti_pageins, 56, 4),
    FIELD(proc_taskinfo, pti_cow_faults, 60, 4),
    FIELD(proc_taskinfo, pti_messages_sent, 64, 4),
    FIELD(proc_taskinfo, pti_messages_received, 68, 4),
    FIELD(proc_taskinfo, pti_syscalls_mach, 72, 4),
    FIELD(proc_taskinfo, pti_syscalls_unix, 76, 4),
    FIELD(proc_taskinfo, pti_csw, 80, 4),
    FIELD(proc_taskinfo, pti_threadnum, 84, 4),
    FIELD(proc_taskinfo, pti_numrunning, 88, 4),
    FIELD(proc_taskinfo, pti_priority, 92, 4),
};

/* struct proc_uniqidentifierinfo: xnu bsd/sys/proc_info_private.h */
static const layout_row proc_uniqidentifierinfo_rows[] = {
    STRUCT(proc_uniqidentifierinfo, 56, 8),
    FIELD(proc_uniqidentifierinfo, p_uuid, 0, 16),
    FIELD(proc_uniqidentifierinfo, p_uniqueid, 16, 8),
    FIELD(proc_uniqidentifierinfo, p_puniqueid, 24, 8),
    FIELD(proc_uniqidentifierinfo, p_idversion, 32, 4),
    FIELD(proc_uniqidentifierinfo, p_orig_ppidversion, 36, 4),
    FIELD(proc_uniqidentifierinfo, p_reserve2, 40, 8),
    FIELD(proc_uniqidentifierinfo, p_reserve3, 48, 8),
};

/* struct proc_bsdinfowithuniqid: xnu bsd/sys/proc_info_private.h */
static const layout_row proc_bsdinfowithuniqid_rows[] = {
    STRUCT(proc_bsdinfowithuniqid, 192, 8),
    FIELD(proc_bsdinfowithuniqid, pbsd, 0, 136),
    FIELD(proc_bsdinfowithuniqid, p_uniqidentifier, 136, 56),
};

/* struct proc_pidcoalitioninfo: xnu bsd/sys/proc_info_private.h */
static const layout_row proc_pidcoalitioninfo_rows[] = {
    STRUCT(proc_pidcoalitioninfo, 40, 8),
    FIELD(proc_pidcoalitioninfo, coalition_id, 0, 16),
    FIELD(proc_pidcoalitioninfo, reserved1, 16, 8),
    FIELD(proc_pidcoalitioninfo, reserved2, 24, 8),
    FIELD(proc_pidcoalitioninfo, reserved3, 32, 8),
};

/* struct procinfo_coalinfo: xnu osfmk/mach/coalition.h (PRIVATE) */
static const layout_row procinfo_coalinfo_rows[] = {
    STRUCT(procinfo_coalinfo, 16, 8),
    FIELD(procinfo_coalinfo, coalition_id, 0, 8),
    FIELD(procinfo_coalinfo, coalition_type, 8, 4),
    FIELD(procinfo_coalinfo, coalition_tasks, 12, 4),
};

/* struct ledger_info: xnu osfmk/kern/ledger.h */
static const layout_row ledger_info_rows[] = {
    STRUCT(ledger_info, 48, 8),
    FIELD(ledger_info, li_name, 0, 32),
    FIELD(ledger_info, li_id, 32, 8),
    FIELD(ledger_info, li_entries, 40, 8),
};

/* struct ledger_entry_info: xnu osfmk/kern/ledger.h */
static const layout_row ledger_entry_info_rows[] = {
    STRUCT(ledger_entry_info, 48, 8),
    FIELD(ledger_entry_info, lei_balance, 0, 8),
    FIELD(ledger_entry_info, lei_credit, 8, 8),
    FIELD(ledger_entry_info, lei_debit, 16, 8),
    FIELD(ledger_entry_info, lei_limit, 24, 8),
    FIELD(ledger_entry_info, lei_refill_period, 32, 8),
    FIELD(ledger_entry_info, lei_last_refill, 40, 8),
};

/* struct ledger_template_info: xnu osfmk/kern/ledger.h */
static const layout_row ledger_template_info_rows[] = {
    STRUCT(ledger_template_info, 96, 1),
    FIELD(ledger_template_info, lti_name, 0, 32),
    FIELD(ledger_template_info, lti_group, 32, 32),
    FIELD(ledger_template_info, lti_units, 64, 32),
};

/* struct coalition_resource_usage: xnu osfmk/mach/coalition.h */
static const layout_row coalition_resource_usage_rows[] = {
    STRUCT(coalition_resource_usage, 352, 8),
    FIELD(coalition_resource_usage, tasks_started, 0, 8),
    FIELD(coalition_resource_usage, tasks_exited, 8, 8),
    FIELD(coalition_resource_usage, time_nonempty, 16, 8),
    FIELD(coalition_resource_usage, cpu_time, 24, 8),
    FIELD(coalition_resource_usage, interrupt_wakeups, 32, 8),
    FIELD(coalition_resource_usage, platform_idle_wakeups, 40, 8),
    FIELD(coalition_resource_usage, bytesread, 48, 8),
    FIELD(coalition_resource_usage, byteswritten, 56, 8),
    FIELD(coalition_resource_usage, gpu_time, 64, 8),
    FIELD(coalition_resource_usage, cpu_time_billed_to_me, 72, 8),
    FIELD(coalition_resource_usage, cpu_time_billed_to_others, 80, 8),
    FIELD(coalition_resource_usage, energy, 88, 8),
    FIELD(coalition_resource_usage, logical_immediate_writes, 96, 8),
    FIELD(coalition_resource_usage, logical_deferred_writes, 104, 8),
    FIELD(coalition_resource_usage, logical_invalidated_writes, 112, 8),
    FIELD(coalition_resource_usage, logical_metadata_writes, 120, 8),
    FIELD(coalition_resource_usage, logical_immediate_writes_to_external, 128, 8),
    FIELD(coalition_resource_usage, logical_deferred_writes_to_external, 136, 8),
    FIELD(coalition_resource_usage, logical_invalidated_writes_to_external, 144, 8),
    FIELD(coalition_resource_usage, logical_metadata_writes_to_external, 152, 8),
    FIELD(coalition_resource_usage, energy_billed_to_me, 160, 8),
    FIELD(coalition_resource_usage, energy_billed_to_others, 168, 8),
    FIELD(coalition_resource_usage, cpu_ptime, 176, 8),
    FIELD(coalition_resource_usage, cpu_time_eqos_len, 184, 8),
    FIELD(coalition_resource_usage, cpu_time_eqos, 192, 56),
    FIELD(coalition_resource_usage, cpu_instructions, 248, 8),
    FIELD(coalition_resource_usage, cpu_cycles, 256, 8),
    FIELD(coalition_resource_usage, fs_metadata_writes, 264, 8),
    FIELD(coalition_resource_usage, pm_writes, 272, 8),
    FIELD(coalition_resource_usage, cpu_pinstructions, 280, 8),
    FIELD(coalition_resource_usage, cpu_pcycles, 288, 8),
    FIELD(coalition_resource_usage, conclave_mem, 296, 8),
    FIELD(coalition_resource_usage, ane_mach_time, 304, 8),
    FIELD(coalition_resource_usage, ane_energy_nj, 312, 8),
    FIELD(coalition_resource_usage, phys_footprint, 320, 8),
    FIELD(coalition_resource_usage, gpu_energy_nj, 328, 8),
    FIELD(coalition_resource_usage, gpu_energy_nj_billed_to_me, 336, 8),
    FIELD(coalition_resource_usage, gpu_energy_nj_billed_to_others, 344, 8),
};

/* struct vm_statistics64: xnu osfmk/mach/vm_statistics.h */
static const layout_row vm_statistics64_rows[] = {
    STRUCT(vm_statistics64, 152, 8),
    FIELD(vm_statistics64, free_count, 0, 4),
    FIELD(vm_statistics64, active_count, 4, 4),
    FIELD(vm_statistics64, inactive_count, 8, 4),
    FIELD(vm_statistics64, wire_count, 12, 4),
    FIELD(vm_statistics64, zero_fill_count, 16, 8),
    FIELD(vm_statistics64, reactivations, 24, 8),
    FIELD(vm_statistics64, pageins, 32, 8),
    FIELD(vm_statistics64, pageouts, 40, 8),
    FIELD(vm_statistics64, faults, 48, 8),
    FIELD(vm_statistics64, cow_faults, 56, 8),
    FIELD(vm_statistics64, lookups, 64, 8),
    FIELD(vm_statistics64, hits, 72, 8),
    FIELD(vm_statistics64, purges, 80, 8),
    FIELD(vm_statistics64, purgeable_count, 88, 4),
    FIELD(vm_statistics64, speculative_count, 92, 4),
    FIELD(vm_statistics64, decompressions, 96, 8),
    FIELD(vm_statistics64, compressions, 104, 8),
    FIELD(vm_statistics64, swapins, 112, 8),
    FIELD(vm_statistics64, swapouts, 120, 8),
    FIELD(vm_statistics64, compressor_page_count, 128, 4),
    FIELD(vm_statistics64, throttled_count, 132, 4),
    FIELD(vm_statistics64, external_page_count, 136, 4),
    FIELD(vm_statistics64, internal_page_count, 140, 4),
    FIELD(vm_statistics64, total_uncompressed_pages_in_compressor, 144, 8),
};

/* struct xsw_usage: xnu bsd/sys/sysctl.h */
static const layout_row xsw_usage_rows[] = {
    STRUCT(xsw_usage, 32, 8),
    FIELD(xsw_usage, xsu_total, 0, 8),
    FIELD(xsw_usage, xsu_avail, 8, 8),
    FIELD(xsw_usage, xsu_used, 16, 8),
    FIELD(xsw_usage, xsu_pagesize, 24, 4),
    FIELD(xsw_usage, xsu_encrypted, 28, 4),
};

/* struct mach_timebase_info: xnu osfmk/mach/mach_time.h */
static const layout_row mach_timebase_info_rows[] = {
    STRUCT(mach_timebase_info, 8, 4),
    FIELD(mach_timebase_info, numer, 0, 4),
    FIELD(mach_timebase_info, denom, 4, 4),
};

/* ---- the tests ------------------------------------------------------------------ */

static void test_rusage_info(void **state)
{
    (void)state;
    check_rows(ROWS(rusage_info_v2_rows));
    check_rows(ROWS(rusage_info_v4_rows));
    check_rows(ROWS(rusage_info_v6_rows));
}

static void test_proc_info(void **state)
{
    (void)state;
    check_rows(ROWS(proc_bsdinfo_rows));
    check_rows(ROWS(proc_bsdshortinfo_rows));
    check_rows(ROWS(proc_taskinfo_rows));
    check_rows(ROWS(proc_region_rows));
}

static void test_proc_info_private(void **state)
{
    (void)state;
    check_rows(ROWS(proc_uniqidentifierinfo_rows));
    check_rows(ROWS(proc_bsdinfowithuniqid_rows));
    check_rows(ROWS(proc_pidcoalitioninfo_rows));
}

static void test_ledger(void **state)
{
    (void)state;
    check_rows(ROWS(ledger_info_rows));
    check_rows(ROWS(ledger_entry_info_rows));
    check_rows(ROWS(ledger_template_info_rows));
}

static void test_coalition(void **state)
{
    (void)state;
    check_rows(ROWS(coalition_resource_usage_rows));
    check_rows(ROWS(procinfo_coalinfo_rows));
}

static void test_mach_and_sysctl(void **state)
{
    (void)state;
    check_rows(ROWS(vm_statistics64_rows));
    check_rows(ROWS(xsw_usage_rows));
    check_rows(ROWS(mach_timebase_info_rows));
}

#define CONST(name, value)                                                                         \
    {                                                                                              \
#name, (size_t)(name), value                                                               \
    }

/* Flavors, commands and sizes: xnu header in each comment. */
static const layout_row constant_rows[] = {
    /* bsd/sys/proc_info.h */
    CONST(PROC_ALL_PIDS, 1),
    CONST(PROC_UID_ONLY, 4),
    CONST(PROC_PPID_ONLY, 6),
    CONST(PROC_PIDTBSDINFO, 3),
    CONST(PROC_PIDTBSDINFO_SIZE, 136),
    CONST(PROC_PIDTASKINFO, 4),
    CONST(PROC_PIDTASKINFO_SIZE, 96),
    CONST(PROC_PIDREGIONINFO, 7),
    CONST(PROC_PIDREGIONINFO_SIZE, 96),
    CONST(PROC_PIDREGIONPATHINFO, 8),
    CONST(PROC_PIDREGIONPATHINFO_SIZE, 1272),
    CONST(PROC_REGION_SUBMAP, 1),
    CONST(PROC_REGION_SHARED, 2),
    CONST(SM_COW, 1),
    CONST(SM_PRIVATE, 2),
    CONST(SM_EMPTY, 3),
    CONST(SM_SHARED, 4),
    CONST(SM_TRUESHARED, 5),
    CONST(SM_PRIVATE_ALIASED, 6),
    CONST(SM_SHARED_ALIASED, 7),
    CONST(SM_LARGE_PAGE, 8),
    CONST(PROC_PIDPATHINFO, 11),
    CONST(PROC_PIDPATHINFO_SIZE, 1024),
    CONST(PROC_PIDPATHINFO_MAXSIZE, 4096),
    CONST(PROC_PIDT_SHORTBSDINFO, 13),
    CONST(PROC_PIDT_SHORTBSDINFO_SIZE, 64),
    CONST(PROC_FLAG_SYSTEM, 1),
    CONST(PROC_FLAG_LP64, 0x10),
    /* bsd/sys/param.h */
    CONST(MAXCOMLEN, 16),
    /* bsd/sys/proc_info_private.h */
    CONST(PROC_PIDUNIQIDENTIFIERINFO, 17),
    CONST(PROC_PIDT_BSDINFOWITHUNIQID, 18),
    CONST(PROC_PIDCOALITIONINFO, 20),
    /* bsd/sys/resource.h */
    CONST(RUSAGE_INFO_V0, 0),
    CONST(RUSAGE_INFO_V1, 1),
    CONST(RUSAGE_INFO_V2, 2),
    CONST(RUSAGE_INFO_V3, 3),
    CONST(RUSAGE_INFO_V4, 4),
    CONST(RUSAGE_INFO_V5, 5),
    CONST(RUSAGE_INFO_V6, 6),
#if MW_LAYOUT_SDK >= 13
    CONST(RUSAGE_INFO_CURRENT, 6),
#else
    CONST(RUSAGE_INFO_CURRENT, 5),
#endif
    /* osfmk/kern/ledger.h */
    CONST(LEDGER_INFO, 0),
    CONST(LEDGER_ENTRY_INFO, 1),
    CONST(LEDGER_TEMPLATE_INFO, 2),
    CONST(LEDGER_NAME_MAX, 32),
    /* bsd/kern/syscalls.master: 373 AUE_LEDGER ALL { int ledger(...) } */
    CONST(MW_LEDGER_SYSCALL, 373),
    /* osfmk/mach/coalition.h */
    CONST(COALITION_TYPE_RESOURCE, 0),
    CONST(COALITION_TYPE_JETSAM, 1),
    CONST(COALITION_NUM_TYPES, 2),
    CONST(MW_COALITION_NUM_THREAD_QOS_TYPES, 7),
    CONST(MW_COALITION_TASKROLE_LEADER, 1),
    /* bsd/sys/proc_info_private.h */
    CONST(MW_LISTCOALITIONS_SINGLE_TYPE, 2),
    /* bsd/sys/sysctl.h */
    CONST(CTL_KERN, 1),
    CONST(KERN_ARGMAX, 8),
    CONST(KERN_PROCARGS2, 49),
    /* osfmk/mach/vm_prot.h */
    CONST(VM_PROT_READ, 1),
    CONST(VM_PROT_WRITE, 2),
    CONST(VM_PROT_EXECUTE, 4),
    /* osfmk/mach/vm_statistics.h: the tags scripts/memwatch/regions.lua names */
    CONST(VM_MEMORY_MALLOC, 1),
    CONST(VM_MEMORY_MALLOC_SMALL, 2),
    CONST(VM_MEMORY_MALLOC_LARGE, 3),
    CONST(VM_MEMORY_MALLOC_HUGE, 4),
    CONST(VM_MEMORY_REALLOC, 6),
    CONST(VM_MEMORY_MALLOC_TINY, 7),
    CONST(VM_MEMORY_MALLOC_LARGE_REUSABLE, 8),
    CONST(VM_MEMORY_MALLOC_LARGE_REUSED, 9),
    CONST(VM_MEMORY_MALLOC_NANO, 11),
    CONST(VM_MEMORY_MALLOC_MEDIUM, 12),
    CONST(VM_MEMORY_MACH_MSG, 20),
    CONST(VM_MEMORY_IOKIT, 21),
    CONST(VM_MEMORY_STACK, 30),
    CONST(VM_MEMORY_GUARD, 31),
    CONST(VM_MEMORY_SHARED_PMAP, 32),
    CONST(VM_MEMORY_DYLIB, 33),
    CONST(VM_MEMORY_UNSHARED_PMAP, 35),
    CONST(VM_MEMORY_DYLD, 60),
    CONST(VM_MEMORY_DYLD_MALLOC, 61),
    CONST(VM_MEMORY_SQLITE, 62),
    CONST(VM_MEMORY_JAVASCRIPT_CORE, 63),
    CONST(VM_MEMORY_OS_ALLOC_ONCE, 73),
    CONST(VM_MEMORY_LIBDISPATCH, 74),
    CONST(VM_MEMORY_SWIFT_RUNTIME, 82),
    CONST(VM_MEMORY_SWIFT_METADATA, 83),
    CONST(VM_MEMORY_IOSURFACE, 88),
    CONST(VM_MEMORY_IOACCELERATOR, 100),
    /* osfmk/mach/host_info.h, kern_return.h, port.h */
    CONST(HOST_VM_INFO64, 4),
    CONST(HOST_VM_INFO64_COUNT, 38),
    CONST(KERN_SUCCESS, 0),
    CONST(MACH_PORT_NULL, 0),
    /* bsd/sys/proc.h */
    CONST(SIDL, 1),
    CONST(SRUN, 2),
    CONST(SSLEEP, 3),
    CONST(SSTOP, 4),
    CONST(SZOMB, 5),
};

static void test_constants(void **state)
{
    (void)state;
    check_rows(ROWS(constant_rows));
}

#define TYPE(t, size, is_signed)                                                                   \
    {"sizeof(" #t ")", sizeof(t), size},                                                           \
    {                                                                                              \
#t " is signed", (size_t)((t)-1 < (t)1), is_signed                                         \
    }

/*
 * The scalar types in the structs and prototypes above. boolean_t differs by
 * architecture on macOS: unsigned int on x86_64 (osfmk/mach/i386/boolean.h),
 * int on arm64 (osfmk/mach/arm/boolean.h).
 */
static const layout_row type_rows[] = {
    TYPE(natural_t, 4, 0),
    TYPE(integer_t, 4, 1),
    TYPE(mach_port_t, 4, 0),
    TYPE(host_t, 4, 0),
    TYPE(ipc_space_t, 4, 0),
    TYPE(mach_port_name_t, 4, 0),
    TYPE(mach_msg_type_number_t, 4, 0),
    TYPE(vm_size_t, 8, 0),
    TYPE(host_flavor_t, 4, 1),
    TYPE(kern_return_t, 4, 1),
#if defined(__x86_64__)
    TYPE(boolean_t, 4, 0),
#else
    TYPE(boolean_t, 4, 1),
#endif
    TYPE(uid_t, 4, 0),
    TYPE(gid_t, 4, 0),
    TYPE(pid_t, 4, 1),
    {"sizeof(rusage_info_t)", sizeof(rusage_info_t), 8},
    {"sizeof(host_info64_t)", sizeof(host_info64_t), 8},
};

static void test_types(void **state)
{
    (void)state;
    check_rows(ROWS(type_rows));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rusage_info),       cmocka_unit_test(test_proc_info),
        cmocka_unit_test(test_proc_info_private), cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_coalition),         cmocka_unit_test(test_mach_and_sysctl),
        cmocka_unit_test(test_constants),         cmocka_unit_test(test_types),
    };

    return cmocka_run_group_tests_name("darwin_layout", tests, NULL, NULL);
}
