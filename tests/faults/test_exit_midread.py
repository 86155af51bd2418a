"""The target exits mid-read: every file opened before it died reads to the end of its
snapshot, exactly the size fstat said, with the whole, exact content; new opens and
lookups give ENOENT."""

import errno
import os

import harness
import pprof
from faultlib import check_clean, check_leak, expect_errno, leak_spec, start_leak, wait_gone

FILES = ["heap", "allocs", "heap.txt", "memstats", "threads", "threads.txt"]
HEAD = 100  # bytes read from some files before the kill

with harness.Mount() as m:
    spec = leak_spec(big_mib=3, big_obj=256 * 1024, small_count=77, churn=500)
    p, pid = start_leak(spec)
    files = {name: open(m.path(pid, name), "rb", buffering=0) for name in FILES}
    sizes = {name: os.fstat(f.fileno()).st_size for name, f in files.items()}
    for name, size in sizes.items():
        harness.check(size > HEAD, "%s: stat size %d" % (name, size))
    # half the files are mid-read when the process dies, the others not read at all
    head = {name: (files[name].read(HEAD) if i % 2 == 0 else b"")
            for i, name in enumerate(FILES)}

    p.kill()
    p.wait()
    wait_gone(pid)

    data = {}
    for name, f in files.items():
        rest = b""
        while True:
            chunk = f.read(3000)  # small reads: many FUSE reads after the exit
            if not chunk:
                break
            rest += chunk
        data[name] = head[name] + rest
        after = os.fstat(f.fileno()).st_size
        f.close()
        harness.check(len(data[name]) == sizes[name],
                      "%s: read %d bytes, stat said %d" % (name, len(data[name]), sizes[name]))
        harness.check(after == sizes[name], "%s: fstat after the exit %d, before %d" %
                      (name, after, sizes[name]))

    check_leak(data["heap"], spec, "heap read after the exit")
    check_leak(data["allocs"], spec, "allocs read after the exit")
    text = data["heap.txt"].decode()
    harness.check(text.startswith("# memprof heap profile") and "leak_small" in text and
                  text.endswith("\n"), "heap.txt is not whole:\n" + text[-300:])
    ms = harness.memstats(data["memstats"].decode())
    harness.check(ms["Mallocs"] - ms["Frees"] == ms["HeapObjects"] and ms["SampleRate"] == 1,
                  "memstats %r" % ms)
    harness.check(ms["HeapObjects"] >= spec["big_objects"] + spec["small_objects"],
                  "memstats HeapObjects %d" % ms["HeapObjects"])
    th = data["threads.txt"].decode()
    harness.check("main" in th and th.endswith("\n"), "threads.txt:\n" + th)
    t = pprof.Profile(data["threads"])
    harness.check(len(t.samples) == 1 and "main" in pprof.Profile.frames(t.samples[0]),
                  "threads: %d samples" % len(t.samples))

    for name in FILES:
        expect_errno(errno.ENOENT, open, m.path(pid, name), "rb")
        expect_errno(errno.ENOENT, os.stat, m.path(pid, name))
    expect_errno(errno.ENOENT, os.stat, m.path(pid))
    harness.check(str(pid) not in os.listdir(m.dir), "dead pid %d still listed" % pid)
    harness.check(m.proc.poll() is None, "the daemon died")
check_clean(m)
print("ok")
