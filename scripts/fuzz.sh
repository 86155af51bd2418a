#!/bin/sh
# Builds every libFuzzer target with clang and runs each for a while.
# usage: scripts/fuzz.sh [SECONDS_PER_FUZZER] [BUILD_DIR]
# New inputs go to BUILD_DIR/fuzz-work/NAME, crashes to BUILD_DIR/fuzz-artifacts/; the
# committed corpora are read, never written.
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
        CC=clang CXX=clang++ meson setup "$build" "$src" -Dfuzz=true -Dbuildtype=debugoptimized
fi

# fuzzer target, its committed corpus
fuzzers="tests/fuzz/fuzz-segment:tests/fuzz/corpus/segment
tests/fuzz/fuzz-goreader:tests/fuzz/corpus/goreader
tests/fuzz/fuzz-proto_reply:tests/fuzz/corpus/proto_reply
tests/fuzz/fuzz-proto_request:tests/fuzz/corpus/proto_request
tests/fuzz/fuzz-debugfile:tests/fuzz/corpus/debugfile
tests/fuzz/fuzz-ehtables:tests/fuzz/corpus/ehtables
tests/procfs/fuzz-procfs:tests/procfs/corpus
tests/symbolize/fuzz-maps:tests/symbolize/corpus-maps"

for f in $fuzzers; do
        meson compile -C "$build" "${f%%:*}"
done

status=0
for f in $fuzzers; do
        target=${f%%:*}
        corpus=$src/${f#*:}
        name=$(basename "$target")
        work=$build/fuzz-work/$name
        mkdir -p "$work" "$build/fuzz-artifacts"
        echo "== $name for ${secs}s"
        if ! "$build/$target" -max_total_time="$secs" -max_len=1048576 -timeout=10 \
                -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$corpus"; then
                echo "!! $name found a problem: see $build/fuzz-artifacts/" >&2
                status=1
        fi
done
exit $status
