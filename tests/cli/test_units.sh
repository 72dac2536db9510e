#!/usr/bin/env bash
# The service definitions (issue 12, "A service"): `cmake --install` into a
# temporary prefix puts the systemd units under PREFIX/lib/systemd/system and
# .../user with ExecStart naming the installed binary, and
# `systemd-analyze verify` accepts every one of them without a word (it
# needs no systemd as pid 1; its man: check reads the installed man page).
# The units say what the brief promises: Type=notify, a watchdog, reload by
# SIGHUP, restart on failure, the sandbox, and only the capabilities a rule
# needs. The launchd plist is well-formed (python3's plistlib; plutil is
# macOS-only). SKIPPED without systemd-analyze or python3.
# Environment (from ctest): MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C
: "${MW_SOURCE_DIR:?}" "${MW_BUILD_DIR:?}"

. "$(dirname "$0")/lib.sh"
mw_test_init units

dest="$TMP/root/usr/local"
cmake --install "$MW_BUILD_DIR" --prefix "$dest" >"$TMP/install.log" 2>&1 ||
    fail "cmake --install: $(cat "$TMP/install.log")"
SYS="$dest/lib/systemd/system"
USR="$dest/lib/systemd/user"

case_ "installed units"
for u in "$SYS/memwatch@.service" "$SYS/memwatch-serve.service" "$USR/memwatch@.service"; do
    check "[ -f '$u' ]" "installed: $u"
done
expect_eq "$(grep '^ExecStart=' "$SYS/memwatch@.service")" "ExecStart=$dest/bin/memwatch /etc/memwatch/%i.lua --state /var/lib/memwatch/%i.state" \
    "the template runs /etc/memwatch/%i.lua with the installed binary"
expect_eq "$(grep '^ExecStart=' "$SYS/memwatch-serve.service")" \
    "ExecStart=$dest/bin/memwatch serve \$MEMWATCH_SERVE_OPTS" "the exporter"
expect_eq "$(grep '^ExecStart=' "$USR/memwatch@.service")" "ExecStart=$dest/bin/memwatch %E/memwatch/%i.lua --state %S/memwatch/%i.state" \
    "the user unit runs ~/.config/memwatch/%i.lua"
expect_match "$(cat "$USR/memwatch@.service")" "^StateDirectory=memwatch$" "the user unit's state directory"
expect_eq "$(grep -c '__BINDIR__' "$SYS"/*.service "$USR"/*.service | grep -vc ':0$')" 0 "no placeholder left"

for u in "$SYS/memwatch@.service" "$SYS/memwatch-serve.service" "$USR/memwatch@.service"; do
    name=${u#"$dest/lib/systemd/"}
    text=$(cat "$u")
    for line in Type=notify Restart=on-failure WatchdogSec=60s NoNewPrivileges=yes ProtectSystem=strict \
        PrivateTmp=yes ProtectKernelTunables=yes ProtectKernelModules=yes LockPersonality=yes \
        MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'; do
        expect_match "$text" "^$line\$" "$name: $line"
    done
done
for u in "$SYS/memwatch@.service" "$SYS/memwatch-serve.service"; do
    name=$(basename "$u")
    text=$(cat "$u")
    for line in ProtectHome=read-only ProtectKernelLogs=yes StateDirectory=memwatch; do
        expect_match "$text" "^$line\$" "$name: $line"
    done
    # Every granted capability is explained in a comment.
    for cap in $(sed -n 's/^CapabilityBoundingSet=//p' "$u"); do
        expect_match "$text" "^#  $cap " "$name: $cap is documented"
    done
    expect_no_match "$text" '^(Ambient|CapabilityBounding).*CAP_SYS_ADMIN' "$name: no admin capability"
    # The BPF sampler: its capabilities, and bpf(2), which @system-service
    # leaves out; calls outside the filter fail instead of killing memwatch.
    expect_match "$text" '^CapabilityBoundingSet=.* CAP_BPF CAP_PERFMON$' "$name: the BPF sampler may load"
    expect_match "$text" '^SystemCallFilter=bpf$' "$name: bpf(2) allowed"
    expect_match "$text" '^SystemCallErrorNumber=EPERM$' "$name: a filtered call fails, never kills"
done
expect_match "$(cat "$SYS/memwatch@.service")" '^CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_KILL CAP_BPF CAP_PERFMON$' \
    "the rules service may read other users' smaps_rollup and exe, and send signals"
expect_match "$(cat "$SYS/memwatch-serve.service")" '^CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_BPF CAP_PERFMON$' \
    "the exporter sends no signals"
expect_match "$(cat "$SYS/memwatch@.service")" '^ExecReload=/bin/kill -HUP \$MAINPID$' "reload is SIGHUP"
expect_match "$(cat "$USR/memwatch@.service")" '^ExecReload=/bin/kill -HUP \$MAINPID$' "user unit: reload is SIGHUP"

case_ "systemd-analyze verify"
if needs systemd-analyze; then
    # verify checks Documentation=man:memwatch(1) with man(1), against the
    # installed page; the user manager wants a runtime directory.
    mkdir -m 700 "$TMP/run"
    export MANPATH="$dest/share/man"
    for u in "$SYS/memwatch@.service" "$SYS/memwatch-serve.service"; do
        out=$(cd "$TMP" && systemd-analyze verify "$u" 2>&1)
        rc=$?
        expect_eq "$rc:$out" "0:" "systemd-analyze verify $(basename "$u")"
    done
    out=$(cd "$TMP" && XDG_RUNTIME_DIR="$TMP/run" systemd-analyze --user verify "$USR/memwatch@.service" 2>&1)
    rc=$?
    expect_eq "$rc:$out" "0:" "systemd-analyze --user verify memwatch@.service"
    # verify does notice a broken unit (the check above can fail).
    sed 's/^Type=notify$/Type=notifyy/' "$SYS/memwatch-serve.service" >"$TMP/broken.service"
    out=$(cd "$TMP" && systemd-analyze verify "$TMP/broken.service" 2>&1)
    expect_contains "$out" "Failed to parse service type" "verify reports a bad unit"
fi

case_ "launchd plist"
if needs python3; then
    out=$(python3 - "$MW_SOURCE_DIR/scripts/launchd/org.memwatch.memwatch.plist" <<'PY' 2>&1
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
assert p["Label"] == "org.memwatch.memwatch", p["Label"]
args = p["ProgramArguments"]
assert args[0] == "__BINDIR__/memwatch" and args[1].endswith(".lua"), args
assert p["KeepAlive"] == {"SuccessfulExit": False}, p["KeepAlive"]
assert p["RunAtLoad"] is True
print("ok", len(p))
PY
    )
    expect_eq "$out" "ok 8" "the plist parses with the expected keys"
fi

mw_test_done
