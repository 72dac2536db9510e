/*
 * backend_ops.read_regions for darwin: the task's address space walked with
 * proc_pidinfo(PROC_PIDREGIONPATHINFO), one call per region. Each call
 * answers the first region at or above the address asked for, so the walk
 * goes on from that region's end until the kernel says there is none
 * (EINVAL). Same user or root, like TASKINFO; no task port is needed.
 *
 * How the kernel's page counts become memwatch's sizes (bytes: pages times
 * the kernel's page size, host_page_size):
 *   resident       pri_pages_resident
 *   swap           pri_pages_swapped_out (in the compressor or swapped out)
 *   private_dirty  pri_pages_dirtied, in a private or copy-on-write region
 *   shared_dirty   pri_pages_dirtied, in a shared region
 *   private_clean  resident - dirtied, in a private region
 *   shared_clean   resident - dirtied, in a shared or copy-on-write region
 *                  (copy-on-write pages not yet written are the file's or the
 *                  parent's)
 *   anonymous      what counts in the footprint: every resident page of a
 *                  private region with no file (anonymous memory is the
 *                  task's whether written or not), the written pages of a
 *                  private file mapping (its copy-on-write copies)
 *   locked         resident, when the region is wired (mlock)
 *   shmem flag     a shared region with no file (shared anonymous memory,
 *                  IOKit and IOSurface mappings), but not a submap (the dyld
 *                  shared cache)
 * and the region's VM_MEMORY_* user tag, which scripts/memwatch/regions.lua
 * turns into a category and a name. There is no proportional size (pss) and
 * no lazy-free count.
 */
#include "backend/darwin/darwin.h"

#include <errno.h>
#include <string.h>
#include <libproc.h>
#include <mach/mach.h>
#include <sys/proc.h>
#include <sys/proc_info.h>

#include "memwatch/alloc.h"

/* Far more regions than a task can have (its map entries are bounded by
 * its memory): a guard against a kernel answer that does not advance. */
#define MAX_REGIONS (1u << 22)

static int is_shared_mode(uint32_t mode)
{
    return mode == SM_SHARED || mode == SM_TRUESHARED || mode == SM_SHARED_ALIASED;
}

static void set_size(mw_region *r, int field, uint64_t bytes)
{
    r->v[field] = bytes > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)bytes;
    r->present |= 1ull << field;
}

/* One region of info as an mw_region (path on the heap). */
static int region_from_info(const struct proc_regionwithpathinfo *info, uint64_t page, mw_region *r)
{
    const struct proc_regioninfo *pi = &info->prp_prinfo;
    const char *path = info->prp_vip.vip_path;
    size_t pathlen = strnlen(path, sizeof info->prp_vip.vip_path);
    int shared = is_shared_mode(pi->pri_share_mode);
    uint64_t resident = pi->pri_pages_resident, dirty = pi->pri_pages_dirtied;

    memset(r, 0, sizeof *r);
    r->start = pi->pri_address;
    r->end = pi->pri_address + pi->pri_size < pi->pri_address ? UINT64_MAX
                                                              : pi->pri_address + pi->pri_size;
    r->offset = pi->pri_offset;
    r->perms[0] = (pi->pri_protection & VM_PROT_READ) ? 'r' : '-';
    r->perms[1] = (pi->pri_protection & VM_PROT_WRITE) ? 'w' : '-';
    r->perms[2] = (pi->pri_protection & VM_PROT_EXECUTE) ? 'x' : '-';
    r->perms[3] = shared ? 's' : 'p';
    r->perms[4] = '\0';
    r->user_tag = pi->pri_user_tag;
    r->flags = MW_REGION_TAGGED;
    if (pathlen > 0) {
        r->inode = info->prp_vip.vip_vi.vi_stat.vst_ino;
        /* darwin's dev_t: an 8-bit major above a 24-bit minor. */
        r->dev_major = (info->prp_vip.vip_vi.vi_stat.vst_dev >> 24) & 0xffu;
        r->dev_minor = info->prp_vip.vip_vi.vi_stat.vst_dev & 0xffffffu;
        r->path = mw_strndup(path, pathlen);
        if (!r->path)
            return -ENOMEM;
    } else if (shared && !(pi->pri_flags & PROC_REGION_SUBMAP)) {
        /* A submap is the dyld shared cache: system libraries, not shared
         * memory the task made. */
        r->flags |= MW_REGION_SHMEM;
    }
    if (dirty > resident)
        dirty = resident;
    set_size(r, MW_REGION_SIZE, pi->pri_size);
    set_size(r, MW_REGION_RSS, resident * page);
    set_size(r, MW_REGION_SWAP, (uint64_t)pi->pri_pages_swapped_out * page);
    set_size(r, MW_REGION_SHARED_DIRTY, shared ? dirty * page : 0);
    set_size(r, MW_REGION_PRIVATE_DIRTY, shared ? 0 : dirty * page);
    set_size(r, MW_REGION_SHARED_CLEAN,
             shared || pi->pri_share_mode == SM_COW ? (resident - dirty) * page : 0);
    set_size(r, MW_REGION_PRIVATE_CLEAN,
             shared || pi->pri_share_mode == SM_COW ? 0 : (resident - dirty) * page);
    set_size(r, MW_REGION_ANONYMOUS, shared ? 0 : (pathlen > 0 ? dirty : resident) * page);
    set_size(r, MW_REGION_LOCKED, pi->pri_user_wired_count > 0 ? resident * page : 0);
    return 0;
}

static int push_region(mw_regions *out, const struct proc_regionwithpathinfo *info, uint64_t page)
{
    mw_region *r = mw_regions_next(out);

    if (!r || region_from_info(info, page, r) != 0)
        return -ENOMEM;
    out->count++;
    return 0;
}

/* A process the kernel no longer lets us see may be a zombie, which has no
 * address space left: no regions, as on Linux. */
static int is_zombie(int32_t pid)
{
    struct proc_bsdshortinfo sbi;

    memset(&sbi, 0, sizeof sbi);
    return proc_pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 1, &sbi, (int)sizeof sbi) == (int)sizeof sbi &&
           sbi.pbsi_status == SZOMB;
}

int mw_darwin_read_regions(int32_t pid, uint64_t page_size, mw_regions *out)
{
    struct proc_regionwithpathinfo *info = mw_malloc(sizeof *info);
    uint64_t address = 0;
    int rc = 0;

    if (!info)
        return -ENOMEM;
    while (out->count < MAX_REGIONS) {
        int n, err;
        uint64_t next;

        memset(info, 0, sizeof *info);
        errno = 0;
        n = proc_pidinfo(pid, PROC_PIDREGIONPATHINFO, address, info, (int)sizeof *info);
        if (n == (int)sizeof *info) {
            rc = push_region(out, info, page_size);
            if (rc)
                break;
            next = info->prp_prinfo.pri_address + info->prp_prinfo.pri_size;
            if (next <= address || next < info->prp_prinfo.pri_address)
                break; /* the top of the address space, or an answer that does not advance */
            address = next;
            continue;
        }
        err = n > 0 ? EIO : (errno ? errno : EIO);
        if (err == EINVAL)
            break; /* no region at or above address: the end */
        if (err == ESRCH && out->count > 0)
            out->truncated = 1; /* exited meanwhile: what was read stands */
        else if (err == ESRCH && is_zombie(pid))
            rc = 0;
        else
            rc = -err;
        break;
    }
    mw_free(info);
    return rc;
}
