"""Rust names in heap and threads, for a program built with each of Rust's symbol
manglings: the readable name as rustfilt prints it (path and generics, no hash), the
mangled one kept as system_name.  tests/e2e_heap/rust_names/main.rs."""

import os
import re

import harness
import pprof
from heaptest import finish

BUILT = os.path.join(harness.BUILD, "tests", "e2e_heap")
# per mangling: the readable names and how the mangled ones start
WANT = {
    "legacy": ("main::cache::Lru<K,V>::insert_many", "main::cache::Lru<K,V>::wait_for_input",
               "_ZN4main5cache"),
    "v0": ("<main::cache::Lru<u32, u64>>::insert_many",
           "<main::cache::Lru<u32, u64>>::wait_for_input", "_RNv"),
}


def function(profile, name):
    for f in profile.functions.values():
        if f["name"] == name:
            return f
    harness.fail("no function %r among %r" % (name, sorted(
        f["name"] for f in profile.functions.values() if "main" in f["name"])))


def check_names(m, mangling):
    exe = os.path.join(BUILT, "rust-names-" + mangling)
    insert, wait, prefix = WANT[mangling]
    p = harness.spawn([exe], shim=True, rate=1, stdin=harness.subprocess.PIPE,
                      stdout=harness.subprocess.PIPE, text=True)
    pid = int(harness.wait_for_line(p, "ready").split()[1])

    heap = pprof.Profile(m.read(pid, "heap"))
    f = function(heap, insert)
    harness.check(f["system_name"].startswith(prefix), "%s: system_name %r of %s"
                  % (mangling, f["system_name"], insert))
    objects = heap.by_function("inuse_objects", insert)
    harness.check(objects == 1000, "%s: %s keeps %r objects, want 1000"
                  % (mangling, insert, objects))
    for fn in heap.functions.values():
        harness.check(not re.search(r"::h[0-9a-f]{16}$|\$LT\$", fn["name"]),
                      "%s: a raw Rust name in heap: %r" % (mangling, fn["name"]))
    text = m.read(pid, "heap.txt").decode()
    harness.check(insert in text, "%s: heap.txt lacks %s:\n%s" % (mangling, insert, text[:3000]))

    threads = pprof.Profile(m.read(pid, "threads"))
    f = function(threads, wait)
    harness.check(f["system_name"].startswith(prefix), "%s: system_name %r of %s"
                  % (mangling, f["system_name"], wait))
    main_thread = [s for s in threads.samples if wait in pprof.Profile.frames(s)]
    harness.check(main_thread and "main::main" in pprof.Profile.frames(main_thread[0]),
                  "%s: Rust's main::main under %s: %r" % (mangling, wait, [
                      pprof.Profile.frames(s) for s in threads.samples]))
    text = m.read(pid, "threads.txt").decode()
    harness.check(wait in text, "%s: threads.txt lacks %s:\n%s" % (mangling, wait, text))
    finish(p)
    print("%s: %s (%s...), 1000 objects; %s in threads" % (mangling, insert, prefix, wait))


def main():
    missing = [k for k in WANT if not os.path.exists(os.path.join(BUILT, "rust-names-" + k))]
    if missing:
        harness.skip("no rustc on PATH when configured (Debian package rustc): the Rust "
                     "programs were not built")
    with harness.Mount() as m:
        for mangling in WANT:
            check_names(m, mangling)
    print("ok")


if __name__ == "__main__":
    main()
