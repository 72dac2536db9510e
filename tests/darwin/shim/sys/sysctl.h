/*
 * Test shim: the parts of Apple's <sys/sysctl.h> the darwin backend uses
 * (xnu bsd/sys/sysctl.h). glibc no longer ships a header of this name.
 */
#ifndef MW_SHIM_SYS_SYSCTL_H
#define MW_SHIM_SYS_SYSCTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_KERN       1
#define KERN_ARGMAX    8  /* int: the largest exec argument area */
#define KERN_PROCARGS2 49 /* {CTL_KERN, KERN_PROCARGS2, pid}: argc, exec path, argv, envp */

/* As on macOS: unsigned on x86_64 (xnu osfmk/mach/i386/boolean.h), int on
 * arm64 (osfmk/mach/arm/boolean.h). */
#if defined(__x86_64__)
typedef unsigned int boolean_t;
#else
typedef int boolean_t;
#endif

struct xsw_usage {
    uint64_t xsu_total;
    uint64_t xsu_avail;
    uint64_t xsu_used;
    uint32_t xsu_pagesize;
    boolean_t xsu_encrypted;
};
_Static_assert(sizeof(struct xsw_usage) == 32, "xsw_usage layout");

int sysctl(int *name, unsigned int namelen, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#endif
