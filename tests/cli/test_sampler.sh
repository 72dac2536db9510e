#!/usr/bin/env bash
# Which sampler scans use (issue 14): MEMWATCH_SAMPLER=proc|bpf|auto and
# memwatch.sampler(); the BPF sampler where it loads, /proc with the reason
# where it does not (unprivileged, through setpriv); the exact error of a
# sampler asked for by name that cannot open; both samplers inside a new pid
# namespace (unshare -fp) see the same processes with the namespace's pids;
# lazily read fields (pss, cmdline) under the BPF sampler.
# The BPF parts are SKIPPED where it cannot load (not root, no BTF, a build
# without it). Environment (from ctest): MEMWATCH.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"

. "$(dirname "$0")/lib.sh"
mw_test_init sampler
unset MEMWATCH_SAMPLER MEMWATCH_ROOT

sampler() { "$MEMWATCH" -e 'print(memwatch.sampler())' 2>&1; }

# ---------------------------------------------------------------------------
case_ "MEMWATCH_SAMPLER"
expect_eq "$(MEMWATCH_SAMPLER=proc sampler)" "proc	MEMWATCH_SAMPLER=proc" "proc asked for"
expect_eq "$(MEMWATCH_SAMPLER=fast sampler)" "nil	MEMWATCH_SAMPLER is 'fast'; it takes proc, bpf or auto" \
    "a bad value: nil and why"
out=$(MEMWATCH_SAMPLER=fast "$MEMWATCH" ps 2>&1)
expect_eq "$?:$out" "1:memwatch ps: MEMWATCH_SAMPLER is 'fast'; it takes proc, bpf or auto" \
    "a command with a bad value fails before it starts"
out=$(MEMWATCH_SAMPLER=fast "$MEMWATCH" -e 'memwatch.processes()' 2>&1)
expect_contains "$out" "memwatch: the sampler is not open (MEMWATCH_SAMPLER is 'fast'; it takes proc, bpf or auto)" \
    "a scan with a bad value raises why"
expect_eq "$(MEMWATCH_ROOT=$MW_FIXTURES/linux/basic MEMWATCH_SAMPLER=proc sampler)" \
    "proc	MEMWATCH_SAMPLER=proc" "a fixture tree with proc"

auto=$(sampler)
bpf_ok=0
case "$auto" in
bpf*) bpf_ok=1 ;;
*) not_run "the BPF sampler does not load here: $auto" ;;
esac

if [ "$bpf_ok" = 1 ]; then
    # -----------------------------------------------------------------------
    case_ "the BPF sampler"
    expect_match "$auto" '^bpf	rss counters (summed over CPUs, as /proc does from 6\.16|.s central counts, as /proc reads them before 6\.16); task (walker|iterator)$' \
        "auto loads the BPF sampler and says how it reads the counters, and with which program"
    expect_eq "$(MEMWATCH_SAMPLER=bpf sampler)" "$auto" "bpf asked for"
    expect_match "$(MEMWATCH_BPF_PROGRAM=iterator sampler)" '; task iterator$' \
        "MEMWATCH_BPF_PROGRAM=iterator loads the task iterator"
    # The walker needs the open-coded task iterator (Linux 6.7 on).
    if grep -q bpf_iter_task_new /sys/kernel/btf/vmlinux 2>/dev/null; then
        expect_match "$auto" '; task walker$' "the walker where the kernel has it"
        # A filtered scan under each program finds the same processes.
        for prog in walker iterator; do
            out=$(MEMWATCH_BPF_PROGRAM=$prog "$MEMWATCH" -e '
                local n = 0
                for _, p in ipairs(memwatch.processes { name = "kthreadd" }) do n = n + 1 end
                local me = memwatch.processes { name = memwatch.self().name }
                print(n, #me > 0)')
            expect_eq "$out" "1	true" "the $prog: a scan by name finds kthreadd and memwatch itself"
        done
    else
        out=$(MEMWATCH_BPF_PROGRAM=walker sampler)
        expect_match "$out" '^proc	the BPF sampler cannot load: ' "the walker asked for on a kernel without it"
    fi
    expect_eq "$(MEMWATCH_ROOT=$MW_FIXTURES/linux/basic sampler)" \
        "proc	the BPF sampler cannot load: the /proc root is $MW_FIXTURES/linux/basic, not the running kernel's" \
        "a fixture tree is /proc's"
    out=$(MEMWATCH_ROOT=$MW_FIXTURES/linux/basic MEMWATCH_SAMPLER=bpf "$MEMWATCH" ps 2>&1)
    expect_eq "$?:$out" "1:memwatch ps: MEMWATCH_SAMPLER=bpf: the BPF sampler cannot load: the /proc root is $MW_FIXTURES/linux/basic, not the running kernel's" \
        "bpf on a fixture tree fails"
    # Fields a pass does not carry come from /proc when first read.
    out=$("$MEMWATCH" -e '
        local me = memwatch.processes { pid = require("memwatch.core").getpid() }[1]
        print(math.type(require("memwatch.core").peek(me, "footprint")), require("memwatch.core").peek(me, "pss"), math.type(me.pss), me.cmdline ~= nil)')
    expect_eq "$out" "integer	nil	integer	true" "pss and cmdline read lazily under the BPF sampler"

    # -----------------------------------------------------------------------
    case_ "unprivileged"
    if needs setpriv && id nobody >/dev/null 2>&1 &&
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$MEMWATCH" -e 'print(1)' >/dev/null 2>&1; then
        nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env "$@"; }
        expect_eq "$(nobody "$MEMWATCH" -e 'print(memwatch.sampler())' 2>&1)" \
            "proc	the BPF sampler cannot load: not root, and without CAP_BPF and CAP_PERFMON" \
            "auto falls back to /proc, saying why"
        out=$(nobody MEMWATCH_SAMPLER=bpf "$MEMWATCH" ps 2>&1)
        expect_eq "$?:$out" \
            "1:memwatch ps: MEMWATCH_SAMPLER=bpf: the BPF sampler cannot load: not root, and without CAP_BPF and CAP_PERFMON" \
            "bpf asked for unprivileged fails with the reason"
        out=$(nobody "$MEMWATCH" -e 'print(#memwatch.processes() > 1)' 2>&1)
        expect_eq "$out" "true" "the fallback scans"
    elif command -v setpriv >/dev/null; then
        not_run "user nobody cannot run $MEMWATCH"
    fi

    # -----------------------------------------------------------------------
    case_ "pid namespace"
    if needs unshare && unshare -fp --mount-proc true 2>/dev/null; then
        # Each sampler lists the namespace's processes but itself: a shell
        # (pid 1) and its two sleeps, the same for both.
        list='local me = require("memwatch.core").getpid()
            local rows = {}
            for _, p in ipairs(memwatch.processes()) do
                if p.pid ~= me then rows[#rows + 1] = string.format("%d %d %s %s", p.pid, p.ppid, p.name, p.state) end
            end
            table.sort(rows)
            print((memwatch.sampler()))
            print(table.concat(rows, "\n"))'
        export MEMWATCH list
        unshare -fp --mount-proc bash -c '
            sleep 30 & sleep 30 &
            sleep 0.2
            MEMWATCH_SAMPLER=bpf "$MEMWATCH" -e "$list" >"$1/ns.bpf" 2>&1
            MEMWATCH_SAMPLER=proc "$MEMWATCH" -e "$list" >"$1/ns.proc" 2>&1
            kill %1 %2' bash "$TMP"
        expect_eq "$(head -n 1 "$TMP/ns.bpf")" "bpf" "the BPF sampler loads in a new pid namespace"
        expect_eq "$(tail -n +2 "$TMP/ns.bpf")" "$(tail -n +2 "$TMP/ns.proc")" "both samplers see the same processes"
        expect_eq "$(tail -n +2 "$TMP/ns.bpf" | cut -d' ' -f1-3 | tr '\n' ,)" "1 0 bash,2 1 sleep,3 1 sleep," \
            "pids as the namespace numbers them"
    fi
fi

mw_test_done
