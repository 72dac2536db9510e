/*
 * Test shim: the libproc calls the darwin backend makes (xnu
 * libsyscall/wrappers/libproc/libproc.h). tests/darwin/fake.c implements them.
 */
#ifndef MW_SHIM_LIBPROC_H
#define MW_SHIM_LIBPROC_H

#include <stdint.h>
#include <sys/proc_info.h>
#include <sys/resource.h>

/* A count of pids (not bytes); with a NULL buffer, a size hint. */
int proc_listallpids(void *buffer, int buffersize);
/* Bytes copied, or 0 with errno set. */
int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize);
/* strlen of the path, or 0 with errno set. */
int proc_pidpath(int pid, void *buffer, uint32_t buffersize);
/* 0, or -1 with errno set; buffer is really a struct rusage_info_vN *. */
int proc_pid_rusage(int pid, int flavor, rusage_info_t *buffer);

#endif
