/*
 * Test shim: the subset of Apple's <sys/proc_info.h> the darwin backend uses,
 * with layouts from xnu bsd/sys/proc_info.h (xnu-11417.101.15). Used only on
 * Linux, first on the include path of the darwin sources and the fake.
 */
#ifndef MW_SHIM_SYS_PROC_INFO_H
#define MW_SHIM_SYS_PROC_INFO_H

#include <stdint.h>
#include <sys/types.h>

#ifndef MAXCOMLEN
#define MAXCOMLEN 16 /* <sys/param.h> on darwin */
#endif
#define MW_SHIM_MAXPATHLEN 1024 /* darwin's MAXPATHLEN, not glibc's PATH_MAX */

#define PROC_ALL_PIDS  1
#define PROC_UID_ONLY  4
#define PROC_PPID_ONLY 6

struct proc_bsdinfo {
    uint32_t pbi_flags;
    uint32_t pbi_status;
    uint32_t pbi_xstatus;
    uint32_t pbi_pid;
    uint32_t pbi_ppid;
    uid_t pbi_uid;
    gid_t pbi_gid;
    uid_t pbi_ruid;
    gid_t pbi_rgid;
    uid_t pbi_svuid;
    gid_t pbi_svgid;
    uint32_t rfu_1;
    char pbi_comm[MAXCOMLEN];
    char pbi_name[2 * MAXCOMLEN];
    uint32_t pbi_nfiles;
    uint32_t pbi_pgid;
    uint32_t pbi_pjobc;
    uint32_t e_tdev;
    uint32_t e_tpgid;
    int32_t pbi_nice;
    uint64_t pbi_start_tvsec;
    uint64_t pbi_start_tvusec;
};

struct proc_bsdshortinfo {
    uint32_t pbsi_pid;
    uint32_t pbsi_ppid;
    uint32_t pbsi_pgid;
    uint32_t pbsi_status;
    char pbsi_comm[MAXCOMLEN];
    uint32_t pbsi_flags;
    uid_t pbsi_uid;
    gid_t pbsi_gid;
    uid_t pbsi_ruid;
    gid_t pbsi_rgid;
    uid_t pbsi_svuid;
    gid_t pbsi_svgid;
    uint32_t pbsi_rfu;
};

#define PROC_FLAG_SYSTEM 1
#define PROC_FLAG_LP64   0x10

struct proc_taskinfo {
    uint64_t pti_virtual_size;
    uint64_t pti_resident_size;
    uint64_t pti_total_user;
    uint64_t pti_total_system;
    uint64_t pti_threads_user;
    uint64_t pti_threads_system;
    int32_t pti_policy;
    int32_t pti_faults;
    int32_t pti_pageins;
    int32_t pti_cow_faults;
    int32_t pti_messages_sent;
    int32_t pti_messages_received;
    int32_t pti_syscalls_mach;
    int32_t pti_syscalls_unix;
    int32_t pti_csw;
    int32_t pti_threadnum;
    int32_t pti_numrunning;
    int32_t pti_priority;
};

/* The regions of a task's address space (PROC_PIDREGIONPATHINFO). */
struct proc_regioninfo {
    uint32_t pri_protection; /* VM_PROT_* */
    uint32_t pri_max_protection;
    uint32_t pri_inheritance;
    uint32_t pri_flags; /* PROC_REGION_* */
    uint64_t pri_offset;
    uint32_t pri_behavior;
    uint32_t pri_user_wired_count;
    uint32_t pri_user_tag; /* VM_MEMORY_* */
    uint32_t pri_pages_resident;
    uint32_t pri_pages_shared_now_private;
    uint32_t pri_pages_swapped_out;
    uint32_t pri_pages_dirtied;
    uint32_t pri_ref_count;
    uint32_t pri_shadow_depth;
    uint32_t pri_share_mode; /* SM_* */
    uint32_t pri_private_pages_resident;
    uint32_t pri_shared_pages_resident;
    uint32_t pri_obj_id;
    uint32_t pri_depth;
    uint64_t pri_address;
    uint64_t pri_size;
};

#define PROC_REGION_SUBMAP 1
#define PROC_REGION_SHARED 2

#define SM_COW             1
#define SM_PRIVATE         2
#define SM_EMPTY           3
#define SM_SHARED          4
#define SM_TRUESHARED      5
#define SM_PRIVATE_ALIASED 6
#define SM_SHARED_ALIASED  7
#define SM_LARGE_PAGE      8

struct vinfo_stat {
    uint32_t vst_dev;
    uint16_t vst_mode;
    uint16_t vst_nlink;
    uint64_t vst_ino;
    uid_t vst_uid;
    gid_t vst_gid;
    int64_t vst_atime;
    int64_t vst_atimensec;
    int64_t vst_mtime;
    int64_t vst_mtimensec;
    int64_t vst_ctime;
    int64_t vst_ctimensec;
    int64_t vst_birthtime;
    int64_t vst_birthtimensec;
    int64_t vst_size; /* off_t */
    int64_t vst_blocks;
    int32_t vst_blksize;
    uint32_t vst_flags;
    uint32_t vst_gen;
    uint32_t vst_rdev;
    int64_t vst_qspare[2];
};

struct vnode_info {
    struct vinfo_stat vi_stat;
    int vi_type;
    int vi_pad;
    struct {
        int32_t val[2];
    } vi_fsid; /* fsid_t, which glibc's <sys/types.h> spells differently */
};

struct vnode_info_path {
    struct vnode_info vip_vi;
    char vip_path[MW_SHIM_MAXPATHLEN];
};

struct proc_regionwithpathinfo {
    struct proc_regioninfo prp_prinfo;
    struct vnode_info_path prp_vip;
};

_Static_assert(sizeof(uid_t) == 4 && sizeof(gid_t) == 4, "darwin uid_t/gid_t are 32-bit");
_Static_assert(sizeof(struct proc_bsdinfo) == 136, "proc_bsdinfo layout");
_Static_assert(sizeof(struct proc_bsdshortinfo) == 64, "proc_bsdshortinfo layout");
_Static_assert(sizeof(struct proc_taskinfo) == 96, "proc_taskinfo layout");
_Static_assert(sizeof(struct proc_regionwithpathinfo) == 1272, "proc_regionwithpathinfo layout");

#define PROC_PIDTBSDINFO            3
#define PROC_PIDTBSDINFO_SIZE       (sizeof(struct proc_bsdinfo))
#define PROC_PIDTASKINFO            4
#define PROC_PIDTASKINFO_SIZE       (sizeof(struct proc_taskinfo))
#define PROC_PIDREGIONINFO          7
#define PROC_PIDREGIONINFO_SIZE     (sizeof(struct proc_regioninfo))
#define PROC_PIDREGIONPATHINFO      8
#define PROC_PIDREGIONPATHINFO_SIZE (sizeof(struct proc_regionwithpathinfo))
#define PROC_PIDPATHINFO            11
#define PROC_PIDPATHINFO_SIZE       (MW_SHIM_MAXPATHLEN)
#define PROC_PIDPATHINFO_MAXSIZE    (4 * MW_SHIM_MAXPATHLEN)
#define PROC_PIDT_SHORTBSDINFO      13
#define PROC_PIDT_SHORTBSDINFO_SIZE (sizeof(struct proc_bsdshortinfo))

#endif
