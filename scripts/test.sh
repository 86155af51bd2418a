#!/bin/bash
# Installs what a fresh Debian 12 machine lacks, builds memprof and runs every test.
# usage (as root): bash scripts/test.sh          deps + build + meson test
#                  bash scripts/test.sh build    deps + build only (used by demo.sh)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MEMPROF_BUILD_DIR:-$src/build}

PACKAGES="build-essential meson ninja-build pkg-config libfuse3-dev fuse3 libunwind-dev
  libprotobuf-c-dev protobuf-c-compiler libdw-dev libelf-dev zlib1g-dev golang-go python3
  elfutils gdb clang valgrind util-linux"

install_deps() {
        local missing=()
        for p in $PACKAGES; do
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
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
        if [ -f "$build/build.ninja" ]; then
                meson setup --reconfigure "$build" "$src" -Dwerror=true
        else
                meson setup "$build" "$src" -Dwerror=true
        fi
        meson compile -C "$build"
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
