#!/bin/bash
# The quick start: build memprof, mount it, profile the leak example, show what it sees.
# usage (as root): bash scripts/demo.sh
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MEMPROF_BUILD_DIR:-$src/build}

if [ "$(id -u)" -ne 0 ]; then
        echo "demo.sh mounts a filesystem for every user: run it as root" >&2
        exit 1
fi
bash "$src/scripts/test.sh" build

# /memprof as in the docs, unless something already lives there
mnt=/memprof
if mountpoint -q "$mnt" 2>/dev/null || { [ -d "$mnt" ] && [ -n "$(ls -A "$mnt" 2>/dev/null)" ]; }; then
        mnt=$(mktemp -d /tmp/memprof.XXXXXX)
        chmod 0755 "$mnt"
fi
mkdir -p "$mnt"

work=$(mktemp -d /tmp/memprof-demo.XXXXXX)
daemon= leak=
cleanup() {
        set +e
        [ -n "$leak" ] && kill "$leak" 2>/dev/null && wait "$leak" 2>/dev/null
        [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        mountpoint -q "$mnt" && fusermount3 -u -z "$mnt"
        [ "$mnt" != /memprof ] && rmdir "$mnt" 2>/dev/null
        exec 3>&- 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT

echo "== mounting memprofd on $mnt"
"$build/fs/memprofd" -f "$mnt" 2>"$work/memprofd.log" &
daemon=$!
for _ in $(seq 200); do
        mountpoint -q "$mnt" && break
        kill -0 "$daemon" 2>/dev/null || { cat "$work/memprofd.log" >&2; exit 1; }
        sleep 0.05
done

echo "== running examples/leak under the shim: memprof run -- build/examples/leak"
# leak reads commands from stdin and exits at EOF: keep its stdin open on a FIFO
mkfifo "$work/stdin"
"$build/cli/memprof" run -- "$build/examples/leak" <"$work/stdin" >"$work/leak.out" &
leak=$!
exec 3>"$work/stdin"
for _ in $(seq 600); do
        grep -q ready "$work/leak.out" && break
        kill -0 "$leak" 2>/dev/null || { echo "leak exited early" >&2; exit 1; }
        sleep 0.05
done

echo
echo "\$ cat $mnt/$leak/memstats"
cat "$mnt/$leak/memstats"
echo
echo "\$ ls -l $mnt/$leak/"
ls -l "$mnt/$leak/"
echo
echo "\$ go tool pprof -top -sample_index=inuse_space $mnt/$leak/heap | head -20"
if [ -e "$mnt/$leak/heap" ]; then
        HOME=${HOME:-/root} PPROF_TMPDIR=$work go tool pprof -top -sample_index=inuse_space \
                "$mnt/$leak/heap" 2>&1 | head -20
else
        echo "(no heap file: the shim's segment was not found; see memstats above)"
fi
echo
echo "== done; unmounting $mnt"
