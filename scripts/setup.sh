#!/bin/sh
# memwatch set-up: install what is missing, configure, build, then run.
#
#   scripts/setup.sh run    build and start the live view, memwatch top (q to quit)
#   scripts/setup.sh test   build with ASan+UBSan and run the whole test suite
#   scripts/setup.sh build  only install and build (build/memwatch)
#
# Works on Debian/Ubuntu (apt-get, as root or through sudo) and on macOS with
# Homebrew. Set MEMWATCH_NO_INSTALL=1 to skip the package step.
set -eu

mode=${1:-run}
case "$mode" in
run | test | build) ;;
*)
    echo "usage: scripts/setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# Packages: what building needs, then everything the tests use, so a fresh
# machine runs every test instead of skipping it: cmocka; clang-format,
# clang-tidy and luacheck (repository checks); python3 (output parsers);
# bsdutils for script(1) (terminal checks); tmux (tty tests); prometheus for
# promtool and the scrape test; curl; valgrind; gnuplot (in the build list,
# for plot); clang with the libFuzzer runtime (.ci/run's fuzz step);
# luarocks (the rock); systemd for systemd-analyze (the units test; on
# Debian 12 no smaller package has it, and installing it in a container
# starts nothing); dpkg-dev and file (CPack's dpkg-shlibdeps) and debootstrap
# for the .deb step (scripts/ci-deb.sh); prometheus-alertmanager (the fleet
# rules test). libcurl is for alert delivery (src/delivery). libyaml, GnuTLS
# and libxcrypt are for serve --web-config (src/http: the YAML file, client
# certificates, bcrypt); openssl makes the TLS tests' certificates. clang,
# libbpf-dev and bpftool build the BPF sampler (Linux only, -DMEMWATCH_BPF;
# Homebrew: not applicable, macOS has no BPF); util-linux gives its tests
# setpriv and unshare.
debian_build="build-essential cmake pkg-config liblua5.4-dev lua5.4 libjansson-dev libreadline-dev libncurses-dev libmicrohttpd-dev libcurl4-openssl-dev gnuplot-nox libyaml-dev libgnutls28-dev libcrypt-dev clang libbpf-dev bpftool"
debian_test="libcmocka-dev util-linux clang-format clang-tidy lua-check python3 bsdutils procps strace tmux prometheus prometheus-alertmanager curl valgrind clang libclang-rt-dev luarocks systemd dpkg-dev file debootstrap openssl"
# Homebrew: llvm brings clang-tidy and a clang with libFuzzer; macOS has
# python3 and script(1) already.
# npm installs zig 0.11 for the macOS cross-build (.ci/run, scripts/cross-macos.sh,
# the darwin_sdk_headers test); a Node.js that brings its own npm (NodeSource's
# conflicts with Debian's npm) is kept as it is.
command -v npm >/dev/null 2>&1 || debian_test="$debian_test npm"
# macOS's libc crypt has no bcrypt: Homebrew's
# libxcrypt (keg-only) gives serve's basic auth one; without it the build
# leaves basic auth out and serve refuses basic_auth_users.
brew_build="cmake pkg-config lua jansson readline libmicrohttpd curl gnuplot libyaml gnutls libxcrypt"
brew_test="cmocka clang-format llvm luacheck tmux prometheus curl luarocks openssl"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

install_debian() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "setup: installing$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

install_brew() {
    # shellcheck disable=SC2086
    brew install "$@"
}

if [ "${MEMWATCH_NO_INSTALL:-0}" != 1 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$mode" = test ]; then
            # shellcheck disable=SC2086
            install_debian $debian_build $debian_test
        else
            # shellcheck disable=SC2086
            install_debian $debian_build
        fi
    elif [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
        if [ "$mode" = test ]; then
            # shellcheck disable=SC2086
            install_brew $brew_build $brew_test
        else
            # shellcheck disable=SC2086
            install_brew $brew_build
        fi
    else
        echo "setup: no apt-get or Homebrew found; install CMake, pkg-config, Lua 5.4 and cmocka yourself" >&2
    fi
fi

# Homebrew keeps readline, curl and libxcrypt (keg-only) out of the default search paths.
if command -v brew >/dev/null 2>&1; then
    for keg in readline curl libxcrypt; do
        if [ -d "$(brew --prefix)/opt/$keg/lib/pkgconfig" ]; then
            PKG_CONFIG_PATH="$(brew --prefix)/opt/$keg/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
            export PKG_CONFIG_PATH
        fi
    done
fi

werror=OFF
[ "${CI:-}" = true ] && werror=ON

if [ "$mode" = test ]; then
    build="$top/build-test"
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMEMWATCH_SANITIZE=ON -DMEMWATCH_WERROR=$werror
    cmake --build "$build" -j "$jobs"
    exec ctest --test-dir "$build" --output-on-failure -j "$jobs"
fi

build="$top/build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMWATCH_WERROR=$werror \
    -DMEMWATCH_TESTS=OFF
cmake --build "$build" -j "$jobs"
[ "$mode" = build ] && exit 0
exec "$build/memwatch" top
