#!/usr/bin/env bash
# The Debian package, installed where nothing else is: builds
# build-deb/memwatch_VERSION_ARCH.deb (cmake --build --target package, for
# the prefix /usr), checks its contents and Depends, makes a fresh Debian 12
# root (debootstrap --variant=minbase bookworm, cached in
# ${XDG_CACHE_HOME:-~/.cache}/memwatch-ci/bookworm and copied for each run, so
# every run starts from the same untouched root), runs
# `apt-get install -y --no-install-recommends ./memwatch_*.deb lua5.4` in
# it (Depends only, so a missing one shows), then `memwatch --version` and
# `lua5.4 -e 'require "memwatch"'` there. A .ci/run step rather than a ctest
# test: a cold run (debootstrap) takes minutes. Needs root (chroot), debootstrap and network
# access to the Debian archive (MW_DEBIAN_MIRROR, default: the archive this
# machine's apt is set up with).
#
#   scripts/ci-deb.sh            the whole check
#   MW_DEB_KEEP=1 scripts/ci-deb.sh   keep the run's root (build-deb/root) to look at
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_DEB_BUILD:-$top/build-deb}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-ci/bookworm
# The archive apt already uses here: the first URI of a source for bookworm's
# main suite (deb822 .sources files, then one-line .list files).
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") s = 1 }
             /^$/ { if (u != "" && s) { print u; exit } u = ""; s = 0 }
             END { if (u != "" && s) print u }' "$f" | head -n 1
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' "$f"
    done
}
mirror=${MW_DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}
[ -n "$mirror" ] || { echo "ci-deb: no bookworm source in /etc/apt: set MW_DEBIAN_MIRROR" >&2; exit 1; }
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
t0=$(date +%s)

say() { echo "ci-deb: $*"; }
die() {
    echo "ci-deb: FAIL: $*" >&2
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    die "needs root (debootstrap, chroot)"
fi
for tool in debootstrap dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/setup.sh test installs it)"
done

# ---- the package ----------------------------------------------------------------------
say "building the package in $build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DMEMWATCH_TESTS=OFF >/dev/null
rm -f "$build"/memwatch_*.deb
cmake --build "$build" -j "$jobs" >/dev/null
cmake --build "$build" --target package >/dev/null
debs=("$build"/memwatch_*.deb)
[ -f "${debs[0]}" ] || die "no memwatch_*.deb in $build"
deb=${debs[0]}
say "$(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

version=$(sed -n 's/^project(memwatch VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || die "package version $(dpkg-deb -f "$deb" Version), project $version"
depends=$(dpkg-deb -f "$deb" Depends)
say "Depends: $depends"
say "Recommends: $(dpkg-deb -f "$deb" Recommends)"
for lib in libc6 libjansson4 libmicrohttpd12 liblua5.4-0; do
    case ", $depends," in
    *", $lib "* | *", $lib,"*) ;;
    *) die "Depends lacks $lib: $depends" ;;
    esac
done
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/bin/memwatch "./usr/lib/$triplet/lua/5.4/memwatch/core.so" ./usr/share/lua/5.4/memwatch/init.lua \
    ./usr/share/lua/5.4/memwatch/cli/serve.lua ./usr/share/memwatch/examples/leak_detector.lua \
    ./usr/share/man/man1/memwatch.1 ./lib/systemd/system/memwatch@.service \
    ./lib/systemd/system/memwatch-serve.service ./usr/lib/systemd/user/memwatch@.service; do
    grep -qxF "$f" <<<"$contents" || die "the package lacks $f"
done

# ---- a fresh Debian 12 --------------------------------------------------------------------
if [ ! -e "$cache/.complete" ]; then
    say "debootstrap bookworm (minbase) into $cache"
    rm -rf "$cache"
    mkdir -p "$(dirname "$cache")"
    debootstrap --variant=minbase bookworm "$cache" "$mirror" >"$(dirname "$cache")/debootstrap.log" 2>&1 ||
        die "debootstrap failed: see $(dirname "$cache")/debootstrap.log"
    touch "$cache/.complete"
    say "debootstrap took $(($(date +%s) - t0)) s"
fi
# Nothing may stay mounted in the cached root (an interrupted debootstrap
# leaves /proc there), or the copy below would copy the host's /proc.
for m in proc sys dev/pts dev; do
    if mountpoint -q "$cache/$m" 2>/dev/null; then umount "$cache/$m" || umount -l "$cache/$m"; fi
done
root="$build/root"
cleanup() {
    if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
    [ "${MW_DEB_KEEP:-0}" = 1 ] || rm -rf "$root"
}
trap cleanup EXIT
cleanup
cp -a "$cache" "$root"
rm -f "$root/.complete"
cp "$deb" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }

say "apt-get install ./$(basename "$deb") in the fresh root"
in_root apt-get update -q >/dev/null || die "apt-get update in the root failed"
# Without Recommends, so a library missing from Depends shows; lua5.4 (a
# Recommends) named for the require check.
in_root sh -c "cd /tmp && apt-get install -y -q --no-install-recommends ./$(basename "$deb") lua5.4" \
    >"$build/apt-install.log" 2>&1 ||
    die "apt-get install failed: $(tail -n 20 "$build/apt-install.log")"

fail=0
out=$(in_root memwatch --version 2>&1) || fail=1
say "memwatch --version: $out"
[ "$fail" -eq 0 ] && grep -q "$version" <<<"$out" || die "memwatch --version in the root: $out"
out=$(in_root memwatch ps 2>&1) || die "memwatch ps in the root: $out"
say "memwatch ps in the root: $(wc -l <<<"$out") lines"
out=$(in_root lua5.4 -e 'local m = require "memwatch"
assert(#m.processes() > 0, "no processes")
print(m.version, package.searchpath("memwatch.core", package.cpath))' 2>&1) ||
    die "lua5.4 -e 'require \"memwatch\"' in the root: $out"
say "lua5.4 require \"memwatch\": $out"
[ "$out" = "$version	/usr/lib/$triplet/lua/5.4/memwatch/core.so" ] || die "unexpected: $out"
out=$(in_root sh -c 'ls /lib/systemd/system/memwatch@.service /usr/share/man/man1/memwatch.1*' 2>&1) ||
    die "units or man page missing in the root: $out"
say "ok: the .deb installs and runs on a fresh Debian 12 ($(($(date +%s) - t0)) s)"
