#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for a while.
# usage: scripts/fuzz.sh [SECONDS_PER_FUZZER] [BUILD_DIR]
# New inputs go to BUILD_DIR/fuzz-work/NAME, crashes to BUILD_DIR/fuzz-artifacts/; the
# committed corpus in tests/fuzz/corpus/NAME is read, never written.
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
        CC=clang CXX=clang++ meson setup "$build" "$src" -Dfuzz=true -Dbuildtype=debugoptimized
fi
targets=$(sed -n "s/^ *'\([a-z_]*\)' *: *\[.*/fuzz-\1/p" "$src/tests/fuzz/meson.build")
for t in $targets; do
        meson compile -C "$build" "tests/fuzz/$t"
done

status=0
for t in $targets; do
        name=${t#fuzz-}
        work=$build/fuzz-work/$name
        mkdir -p "$work" "$build/fuzz-artifacts"
        echo "== $t for ${secs}s"
        if ! "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=1048576 -timeout=10 \
                -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$build/fuzz-artifacts/$name-" \
                "$work" "$src/tests/fuzz/corpus/$name"; then
                echo "!! $t found a problem: see $build/fuzz-artifacts/" >&2
                status=1
        fi
done
exit $status
