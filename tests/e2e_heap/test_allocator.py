"""memstats names the allocator that answers malloc: glibc by default, and jemalloc
(Debian's libjemalloc2), tcmalloc and mimalloc when preloaded after the shim, as a
program linked with them would have it.  Under each, the shim's figures stay exact at
MEMPROF_RATE=1: the leak example keeps 64 MiB in leak_big and 4096000 bytes in
leak_small."""

import os
import subprocess

import harness

MiB = 1 << 20
LIBDIR = "/usr/lib/x86_64-linux-gnu"
# name in memstats, library, Debian package
PRELOADED = [("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
             ("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
             ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0")]


def memstats_under(m, preload):
    env = {"LD_PRELOAD": ":".join([harness.SHIM] + preload), "MEMPROF_RATE": "1"}
    p = harness.spawn([os.path.join(harness.EXAMPLES, "leak"), "--churn", "1000"], env=env,
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(harness.wait_for_line(p, "ready").split()[1])
    text = m.read(pid, "memstats").decode()
    out, _ = p.communicate("exit\n", timeout=60)
    harness.check(p.returncode == 0, "leak exited with %d under %r" % (p.returncode, preload))
    ms = harness.memstats(text)
    live = 64 * MiB + 4096 * 1000
    # stdio's buffers and the like come on top of the two leaks
    harness.check(live <= ms["HeapAlloc"] <= live + MiB,
                  "HeapAlloc %d under %r, want %d and a little more:\n%s"
                  % (ms["HeapAlloc"], preload, live, text))
    return text, ms


def main():
    with harness.Mount() as m:
        text, ms = memstats_under(m, [])
        harness.check("# allocator (glibc mallinfo2, " in text, "glibc unnamed:\n" + text)
        harness.check(ms["mallinfo_hblks"] >= 64, "mallinfo_hblks %d" % ms["mallinfo_hblks"])

        if not os.path.exists(os.path.join(LIBDIR, "libjemalloc.so.2")):
            harness.skip("libjemalloc.so.2 is missing (Debian package libjemalloc2)")
        tried = []
        for name, lib, package in PRELOADED:
            path = os.path.join(LIBDIR, lib)
            if not os.path.exists(path):
                print("%s not installed (Debian package %s): not tried" % (lib, package))
                continue
            text, ms = memstats_under(m, [path])
            head = "# allocator (%s, %s)\n" % (name, lib)
            harness.check(head in text, "%s unnamed:\n%s" % (name, text))
            harness.check("mallinfo2 is glibc's" in text, "no word on mallinfo:\n" + text)
            harness.check(not any(k.startswith("mallinfo_") for k in ms),
                          "glibc's figures shown under %s:\n%s" % (name, text))
            tried.append(name)
    print("ok: glibc, " + ", ".join(tried))


if __name__ == "__main__":
    main()
