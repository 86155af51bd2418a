"""metrics.prom read directly: the shim's figures equal memstats' (examples/leak at rate
1), a Go program's equal its memstats' Go section, a process that is neither is absent,
a hostile process name cannot break the format, and promtool check metrics passes."""

import os
import subprocess

import gobuild
import harness
import promlib

# a process name with everything the format must escape, and bytes that are not UTF-8
HOSTILE = b'a"b\\c\nd\xff\xfe'
PYTHON = "/usr/bin/python3"


def read_metrics(m):
    path = os.path.join(m.dir, "metrics.prom")
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        data = f.read()
    # stat then read in one caller: the same snapshot, so ls -l, cp and tar agree
    harness.check(size == len(data), "metrics.prom: stat says %d bytes, read gives %d"
                  % (size, len(data)))
    return data.decode()


def go_program():
    """A Go process (examples/go/leakcache, newest toolchain), or None without Go."""
    vs = gobuild.versions()
    if not vs:
        print("note: no Go toolchain in /usr/lib/go-1.X: the Go part is not checked")
        return None
    v, go = vs[-1]
    p = harness.spawn([gobuild.build("leakcache", v, go)], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
    harness.wait_for_line(p, "ready ")
    return p


def main():
    with harness.Mount() as m:
        leak = promlib.start_leak(rate=1)
        off = promlib.start_leak(rate=0)
        plain = harness.spawn(["sleep", "1000"])
        hostile = None
        if os.path.exists(PYTHON):
            hostile = harness.spawn(
                [PYTHON, "-c", "import ctypes, sys, time\n"
                 "ctypes.CDLL(None).prctl(15, ctypes.c_char_p(%r), 0, 0, 0)\n"
                 "print('ready', flush=True)\ntime.sleep(1000)\n" % HOSTILE],
                shim=True, stdout=subprocess.PIPE, text=True)
            harness.wait_for_line(hostile, "ready")
        gop = go_program()

        ms = harness.memstats(m.read(leak.pid, "memstats").decode())
        text = read_metrics(m)
        promlib.promtool_check(text)

        # the shim's exact figures and its estimate, as memstats has them (the example
        # waits on stdin: nothing moves between the two reads)
        for name, key in [("memprof_heap_inuse_bytes", "HeapAlloc"),
                          ("memprof_heap_inuse_objects", "HeapObjects"),
                          ("memprof_mallocs_total", "Mallocs"), ("memprof_frees_total", "Frees"),
                          ("memprof_heap_alloc_bytes_total", "TotalAlloc"),
                          ("memprof_heap_sample_rate_bytes", "SampleRate"),
                          ("memprof_heap_samples_total", "Samples")]:
            got = promlib.series(text, name).get(leak.pid)
            harness.check(got == ms[key], "%s{pid=%d} is %r, memstats %s is %d"
                          % (name, leak.pid, got, key, ms[key]))
        harness.check(ms["HeapAlloc"] >= 4 << 20, "the leak's 4 MiB not in HeapAlloc: %r" % ms)
        labels = [lb for n, lb, _ in promlib.samples(text)
                  if n == "memprof_heap_inuse_bytes" and lb["pid"] == str(leak.pid)][0]
        harness.check(labels["comm"] == "leak" and labels["exe"] == promlib.LEAK,
                      "labels of the leak: %r" % labels)
        rss = promlib.series(text, "memprof_process_resident_memory_bytes")
        harness.check(rss.get(leak.pid, 0) >= 4 << 20, "RSS of the leak: %r" % rss.get(leak.pid))

        # sampling off: counts yes, no live-bytes figure rather than a false 0
        harness.check(off.pid in promlib.series(text, "memprof_mallocs_total") and
                      off.pid not in promlib.series(text, "memprof_heap_inuse_bytes"),
                      "a process at MEMPROF_RATE=0 shows a live-bytes figure")
        # neither shim nor Go: not profiled, not there
        harness.check(all(lb.get("pid") != str(plain.pid) for _, lb, _ in promlib.samples(text)),
                      "a process without the shim is in metrics.prom")

        if hostile:
            names = {lb["comm"] for n, lb, _ in promlib.samples(text)
                     if n == "memprof_mallocs_total" and lb["pid"] == str(hostile.pid)}
            harness.check(len(names) == 1, "the renamed process is missing: %r" % names)
            name = names.pop()
            harness.check(name.startswith('a"b') and "\ufffd" in name,
                          "the hostile name came out as %r" % name)

        if gop:
            gms = harness.memstats(m.read(gop.pid, "memstats").decode())
            text = read_metrics(m)
            promlib.promtool_check(text)
            for name, key in [("go_memstats_heap_alloc_bytes", "go_HeapAlloc"),
                              ("go_memstats_sys_bytes", "go_Sys"),
                              ("go_goroutines", "go_Goroutines")]:
                got = promlib.series(text, name).get(gop.pid)
                # a Go program allocates a little in the background between two reads
                harness.check(got is not None and abs(got - gms[key]) <= gms[key] * 0.01,
                              "%s{pid=%d} is %r, memstats %s is %d" % (name, gop.pid, got,
                                                                       key, gms[key]))
            count = promlib.series(text, "go_gc_duration_seconds_count").get(gop.pid)
            harness.check(count == gms["go_NumGC"], "GC count %r, memstats %d"
                          % (count, gms["go_NumGC"]))
            harness.check(gop.pid in promlib.series(text, "go_info"), "no go_info")
            harness.check(gop.pid not in promlib.series(text, "memprof_mallocs_total"),
                          "a Go program without the shim has shim figures")
        prof = {lb["kind"]: v for n, lb, v in promlib.samples(text)
                if n == "memprof_processes_profiled"}
        harness.check(prof.get("shim", 0) >= 2 and prof.get("go", 0) >= (1 if gop else 0),
                      "memprof_processes_profiled: %r" % prof)
        harness.check("memprof_up 1" in text.splitlines(), "no memprof_up 1")
        print("ok: leak pid %d HeapAlloc %d in metrics.prom" % (leak.pid, ms["HeapAlloc"]))


main()
