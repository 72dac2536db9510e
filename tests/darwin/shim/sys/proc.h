/*
 * Test shim: the p_stat values of Apple's <sys/proc.h> (xnu bsd/sys/proc.h),
 * which pbi_status and pbsi_status carry.
 */
#ifndef MW_SHIM_SYS_PROC_H
#define MW_SHIM_SYS_PROC_H

#define SIDL   1 /* being created by fork */
#define SRUN   2 /* runnable */
#define SSLEEP 3 /* sleeping on an address */
#define SSTOP  4 /* stopped */
#define SZOMB  5 /* exited, awaiting collection by the parent */

#endif
