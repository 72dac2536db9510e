/*
 * The catalogue of per-process numeric fields.
 *
 * Every value a backend can report is listed once here, with the name Lua
 * scripts see, how it is stored and which source has to be read to get it.
 * Bindings, formatters and tests walk this table instead of naming fields
 * one by one, so a field added here shows up everywhere at once.
 */
#ifndef MEMWATCH_FIELDS_H
#define MEMWATCH_FIELDS_H

/*
 * Sources: one bit per thing a backend may have to read. A caller asks for a
 * set of sources; a backend reads only those. The Linux meaning is given; the
 * darwin backend maps the same bits onto its calls (see backend/darwin).
 */
enum mw_source {
    MW_SRC_STATUS = 1u << 0,  /* linux: /proc/PID/status; darwin: rusage */
    MW_SRC_STAT = 1u << 1,    /* linux: /proc/PID/stat; darwin: bsdinfo */
    MW_SRC_SMAPS = 1u << 2,   /* linux: /proc/PID/smaps_rollup */
    MW_SRC_IO = 1u << 3,      /* linux: /proc/PID/io; darwin: rusage */
    MW_SRC_CMDLINE = 1u << 4, /* linux: /proc/PID/cmdline; darwin: KERN_PROCARGS2 */
    MW_SRC_PATH = 1u << 5,    /* linux: /proc/PID/exe; darwin: proc_pidpath */
    /* The start time alone, which identifies a process with its pid. Linux
     * reads it from stat once and keeps it while the process's cached status
     * descriptor stays valid; darwin reads bsdinfo. */
    MW_SRC_IDENT = 1u << 6,
    MW_SRC_ALL = (1u << 7) - 1
};

/* How a field's int64 value is stored and shown. */
enum mw_kind {
    MW_KIND_COUNT,   /* plain integer (pid, uid, threads) */
    MW_KIND_BYTES,   /* integer bytes */
    MW_KIND_SECONDS, /* stored as nanoseconds, shown to Lua as float seconds */
    MW_KIND_EPOCH    /* nanoseconds since the Unix epoch, float seconds in Lua */
};

/*
 * X(ID, lua name, kind, sources that can provide it)
 * Where two sources can provide a field (ppid is in both status and stat), a
 * read of either fills it.
 */
#define MW_FIELD_LIST(X)                                                                           \
    X(PID, "pid", MW_KIND_COUNT, MW_SRC_STATUS | MW_SRC_STAT)                                      \
    X(PPID, "ppid", MW_KIND_COUNT, MW_SRC_STATUS | MW_SRC_STAT)                                    \
    X(UID, "uid", MW_KIND_COUNT, MW_SRC_STATUS | MW_SRC_STAT)                                      \
    X(THREADS, "threads", MW_KIND_COUNT, MW_SRC_STATUS | MW_SRC_STAT)                              \
    X(START_TIME, "start_time", MW_KIND_EPOCH, MW_SRC_IDENT)                                       \
    X(CPU_TIME, "cpu_time", MW_KIND_SECONDS, MW_SRC_STAT)                                          \
    X(FOOTPRINT, "footprint", MW_KIND_BYTES, MW_SRC_STATUS)                                        \
    X(RESIDENT, "resident", MW_KIND_BYTES, MW_SRC_STATUS)                                          \
    X(RSS_ANON, "rss_anon", MW_KIND_BYTES, MW_SRC_STATUS)                                          \
    X(RSS_FILE, "rss_file", MW_KIND_BYTES, MW_SRC_STATUS)                                          \
    X(RSS_SHMEM, "rss_shmem", MW_KIND_BYTES, MW_SRC_STATUS)                                        \
    X(SWAP, "swap", MW_KIND_BYTES, MW_SRC_STATUS)                                                  \
    X(PAGE_TABLE, "page_table", MW_KIND_BYTES, MW_SRC_STATUS)                                      \
    X(RESIDENT_PEAK, "resident_peak", MW_KIND_BYTES, MW_SRC_STATUS)                                \
    X(VIRTUAL, "virtual", MW_KIND_BYTES, MW_SRC_STATUS)                                            \
    X(LOCKED, "locked", MW_KIND_BYTES, MW_SRC_STATUS)                                              \
    X(WIRED, "wired", MW_KIND_BYTES, MW_SRC_STATUS)                                                \
    X(FOOTPRINT_PEAK, "footprint_peak", MW_KIND_BYTES, MW_SRC_STATUS)                              \
    X(FOOTPRINT_INTERVAL_PEAK, "footprint_interval_peak", MW_KIND_BYTES, MW_SRC_STATUS)            \
    X(PSS, "pss", MW_KIND_BYTES, MW_SRC_SMAPS)                                                     \
    X(USS, "uss", MW_KIND_BYTES, MW_SRC_SMAPS)                                                     \
    X(SWAP_PSS, "swap_pss", MW_KIND_BYTES, MW_SRC_SMAPS)                                           \
    X(LAZY_FREE, "lazy_free", MW_KIND_BYTES, MW_SRC_SMAPS)                                         \
    X(DISK_READ, "disk_read", MW_KIND_BYTES, MW_SRC_IO)                                            \
    X(DISK_WRITTEN, "disk_written", MW_KIND_BYTES, MW_SRC_IO)                                      \
    X(UNIQUE_ID, "unique_id", MW_KIND_COUNT, MW_SRC_STAT)

#define MW_FIELD_ENUM(id, name, kind, src) MW_F_##id,
enum mw_field { MW_FIELD_LIST(MW_FIELD_ENUM) MW_F_COUNT };
#undef MW_FIELD_ENUM

typedef struct mw_field_info {
    const char *name;
    enum mw_kind kind;
    unsigned sources;
} mw_field_info;

/* The row for field f; f must be below MW_F_COUNT. */
const mw_field_info *mw_field_get(enum mw_field f);

/* The field called name, or -1. */
int mw_field_find(const char *name);

#endif
