/*
 * Test shim: the Mach host calls of Apple's <mach/mach.h> the darwin backend
 * uses (xnu osfmk/mach/{vm_statistics,host_info,mach_host}.h).
 */
#ifndef MW_SHIM_MACH_MACH_H
#define MW_SHIM_MACH_MACH_H

#include <stdint.h>
#include <mach/mach_time.h>

typedef unsigned int natural_t;
typedef int integer_t;
typedef natural_t mach_port_t;
typedef mach_port_t host_t;
typedef mach_port_t ipc_space_t;
typedef mach_port_t mach_port_name_t;
typedef natural_t mach_msg_type_number_t;
typedef uintptr_t vm_size_t;
typedef int host_flavor_t;
typedef integer_t *host_info64_t;

#define KERN_SUCCESS   0
#define MACH_PORT_NULL 0

struct vm_statistics64 {
    natural_t free_count; /* includes speculative_count */
    natural_t active_count;
    natural_t inactive_count;
    natural_t wire_count;
    uint64_t zero_fill_count;
    uint64_t reactivations;
    uint64_t pageins;
    uint64_t pageouts;
    uint64_t faults;
    uint64_t cow_faults;
    uint64_t lookups;
    uint64_t hits;
    uint64_t purges;
    natural_t purgeable_count;
    natural_t speculative_count;
    uint64_t decompressions;
    uint64_t compressions;
    uint64_t swapins;
    uint64_t swapouts;
    natural_t compressor_page_count;
    natural_t throttled_count;
    natural_t external_page_count;
    natural_t internal_page_count;
    uint64_t total_uncompressed_pages_in_compressor;
} __attribute__((aligned(8)));
typedef struct vm_statistics64 *vm_statistics64_t;
typedef struct vm_statistics64 vm_statistics64_data_t;
_Static_assert(sizeof(struct vm_statistics64) == 152, "vm_statistics64 layout");

#define HOST_VM_INFO64 4
#define HOST_VM_INFO64_COUNT                                                                       \
    ((mach_msg_type_number_t)(sizeof(vm_statistics64_data_t) / sizeof(integer_t)))

/* osfmk/mach/vm_prot.h */
#define VM_PROT_READ    1
#define VM_PROT_WRITE   2
#define VM_PROT_EXECUTE 4

/* osfmk/mach/vm_statistics.h: the user tags regions.lua names (VM_MEMORY_*). */
#define VM_MEMORY_MALLOC                1
#define VM_MEMORY_MALLOC_SMALL          2
#define VM_MEMORY_MALLOC_LARGE          3
#define VM_MEMORY_MALLOC_HUGE           4
#define VM_MEMORY_REALLOC               6
#define VM_MEMORY_MALLOC_TINY           7
#define VM_MEMORY_MALLOC_LARGE_REUSABLE 8
#define VM_MEMORY_MALLOC_LARGE_REUSED   9
#define VM_MEMORY_MALLOC_NANO           11
#define VM_MEMORY_MALLOC_MEDIUM         12
#define VM_MEMORY_MACH_MSG              20
#define VM_MEMORY_IOKIT                 21
#define VM_MEMORY_STACK                 30
#define VM_MEMORY_GUARD                 31
#define VM_MEMORY_SHARED_PMAP           32
#define VM_MEMORY_DYLIB                 33
#define VM_MEMORY_UNSHARED_PMAP         35
#define VM_MEMORY_DYLD                  60
#define VM_MEMORY_DYLD_MALLOC           61
#define VM_MEMORY_SQLITE                62
#define VM_MEMORY_JAVASCRIPT_CORE       63
#define VM_MEMORY_OS_ALLOC_ONCE         73
#define VM_MEMORY_LIBDISPATCH           74
#define VM_MEMORY_SWIFT_RUNTIME         82
#define VM_MEMORY_SWIFT_METADATA        83
#define VM_MEMORY_IOSURFACE             88
#define VM_MEMORY_IOACCELERATOR         100

extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_

mach_port_t mach_host_self(void);
kern_return_t host_statistics64(host_t host, host_flavor_t flavor, host_info64_t info,
                                mach_msg_type_number_t *count);
kern_return_t host_page_size(host_t host, vm_size_t *size);
kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name);

#endif
