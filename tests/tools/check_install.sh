#!/usr/bin/env bash
# `cmake --install` puts the binary, the Lua modules, the C module, the
# example scripts, the man page and the service definitions where lua5.4,
# man and systemd look for them.
set -eu
: "${MW_BUILD_DIR:?}"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
cmake --install "$MW_BUILD_DIR" --prefix "$dest/usr/local" >/dev/null
fail=0
for f in bin/memwatch share/lua/5.4/memwatch/init.lua share/lua/5.4/memwatch/cli/ps.lua \
    share/man/man1/memwatch.1; do
    if [ ! -e "$dest/usr/local/$f" ]; then
        echo "missing after install: $f"
        fail=1
    fi
done
# The service definitions: systemd units on Linux, the launchd plist on macOS.
if [ "$(uname -s)" = Linux ]; then
    units="lib/systemd/system/memwatch@.service lib/systemd/system/memwatch-serve.service lib/systemd/user/memwatch@.service"
else
    units="share/memwatch/launchd/org.memwatch.memwatch.plist"
fi
for f in $units; do
    if [ ! -e "$dest/usr/local/$f" ]; then
        echo "missing after install: $f"
        fail=1
    elif ! grep -q "$dest/usr/local/bin/memwatch" "$dest/usr/local/$f"; then
        echo "$f does not start $dest/usr/local/bin/memwatch"
        fail=1
    fi
done
so=$(find "$dest/usr/local" -path '*lua/5.4/memwatch/core.so' | head -n 1)
if [ -z "$so" ]; then
    echo "missing after install: lib/.../lua/5.4/memwatch/core.so"
    fail=1
fi
[ "$fail" -eq 0 ] || exit 1
# The man page carries the version the binary reports (one definition).
version=$("$dest/usr/local/bin/memwatch" --version | awk '{ print $2; exit }')
grep -q "^\.TH MEMWATCH 1 .* \"memwatch $version\"" "$dest/usr/local/share/man/man1/memwatch.1" ||
    { echo "man page version differs from memwatch --version ($version): $(head -1 "$dest/usr/local/share/man/man1/memwatch.1")"; exit 1; }
# The installed binary runs its bundled modules without the source tree.
out=$(cd / && "$dest/usr/local/bin/memwatch" -e 'print(memwatch.bytes(1024 * 1024 * 15))')
[ "$out" = "15.0M" ] || { echo "installed memwatch printed '$out'"; exit 1; }
if command -v lua5.4 >/dev/null 2>&1 && ! nm -D "$so" 2>/dev/null | grep -q __asan; then
    out=$(cd / && LUA_CPATH="$(dirname "$(dirname "$so")")/?.so" \
        LUA_PATH="$dest/usr/local/share/lua/5.4/?.lua;$dest/usr/local/share/lua/5.4/?/init.lua" \
        lua5.4 -e 'print(require("memwatch").platform)')
    [ "$out" = "$(uname -s | tr 'A-Z' 'a-z')" ] || { echo "installed module printed '$out'"; exit 1; }
fi
echo "install layout ok"
