#!/bin/bash
# Installs what a fresh Debian 12 machine lacks, builds memprof and runs every test.
# usage (as root): bash scripts/test.sh          deps + build + meson test
#                  bash scripts/test.sh build    deps + build only (used by demo.sh)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MEMPROF_BUILD_DIR:-$src/build}

PACKAGES="build-essential meson ninja-build pkg-config libfuse3-dev fuse3 libunwind-dev
  libprotobuf-c-dev protobuf-c-compiler libdw-dev libelf-dev zlib1g-dev golang-go python3
  elfutils gdb clang valgrind strace util-linux libpython3.11-testsuite podman runc
  ripgrep libiberty-dev rustc sqlite3
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 dwz liblzma-dev
  prometheus prometheus-node-exporter curl golang-github-mattn-go-sqlite3-dev libsqlite3-dev"
# Every Go Debian 12 offers, for the Go runtime collector's tests: 1.19 is bookworm's
# golang-go, the others come from bookworm-backports.
BACKPORTS_PACKAGES="golang-1.21-go golang-1.21-src golang-1.22-go golang-1.22-src
  golang-1.23-go golang-1.23-src"

# Adds bookworm-backports on the mirror the machine's bookworm entries use, once.
add_backports() {
        local f mirror=""
        if grep -rqsE "^[^#]*bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
                return 0
        fi
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                mirror=$(awk '/^URIs:/ {u=$2} /^Suites:.*bookworm( |$)/ {if (u) {print u; exit}}' "$f")
                [ -n "$mirror" ] && break
        done
        if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
                mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
        fi
        mirror=${mirror:-http://deb.debian.org/debian}
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$mirror" > /etc/apt/sources.list.d/bookworm-backports.sources
}

install_deps() {
        local missing=()
        for p in $PACKAGES $BACKPORTS_PACKAGES; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
                        missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ "$(id -u)" -ne 0 ]; then
                echo "missing packages: ${missing[*]}; run this script as root" >&2
                exit 1
        fi
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        case " ${missing[*]} " in *" golang-1.2"*) add_backports ;; esac
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# setup_and_compile DIR [MESON OPTIONS...]
setup_and_compile() {
        local dir=$1
        shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$src" -Dwerror=true "$@"
        else
                meson setup "$dir" "$src" -Dwerror=true "$@"
        fi
        meson compile -C "$dir"
}

build() {
        setup_and_compile "$build"
}

install_deps
build
if [ "${1:-}" = build ]; then
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "note: not root: tests that mount with allow_other or switch users will skip" >&2
fi
meson test -C "$build" --print-errorlogs

# The same tests against an ASan+UBSan build of the daemon, its libraries and the test
# programs (the shim and the example programs stay plain: they are what gets profiled).
# MEMPROF_ASAN=0 skips this part.
if [ "${MEMPROF_ASAN:-1}" != 0 ]; then
        asan=${build}-asan
        setup_and_compile "$asan" -Db_sanitize=address,undefined -Db_lundef=false
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                meson test -C "$asan" --print-errorlogs --no-suite slow
fi
