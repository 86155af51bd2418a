"""goroutines and goroutines.txt of a Go process against the process's own
/debug/pprof/goroutine?debug=1 fetched right after, for every installed Go version:
per function, the counts agree (the running goroutines aside, which may move), the text
names each wait reason and the creator, a diff around a leak of 100 goroutines shows
that entry's count change alone, and go tool pprof reads the profile, -base included."""

import difflib
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import gobuild
import harness
import pprof

SPIN = 2
EXPECT = {"main.blockedOnChan": 1000, "main.waitInSelect": 50, "main.sleeper": 10,
          "main.spin": SPIN}


def own_debug1(port):
    url = "http://127.0.0.1:%d/debug/pprof/goroutine?debug=1" % port
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def per_function(debug1):
    """{function: goroutines whose stack holds it} from debug=1's "N @ pcs" entries."""
    counts, n, seen = {}, 0, set()
    for line in debug1.splitlines():
        m = re.match(r"^(\d+) @", line)
        if m:
            n, seen = int(m.group(1)), set()
            continue
        m = re.match(r"^#\s+0x[0-9a-f]+\s+(\S+)\+0x", line)
        if m and m.group(1) not in seen:
            seen.add(m.group(1))
            counts[m.group(1)] = counts.get(m.group(1), 0) + n
    return counts


def entry(text, func):
    """The goroutines.txt entry whose frames name func: its header line and the rest."""
    for block in text.split("\n\n"):
        if ("\n%s\n" % func) in block:
            return block
    return None


def settled(m, pid, func, want):
    """goroutines.txt once func's entry reads want (goroutines just started may not have
    reached their channel yet)."""
    for _ in range(50):
        text = m.read(pid, "goroutines.txt").decode()
        e = entry(text, func)
        if e is not None and e.startswith(want):
            return text
        time.sleep(0.1)
    return text


vs = gobuild.require_versions()

with harness.Mount() as m:
    for v, go in vs:
        label = "go%s" % v
        binary = gobuild.build("goroutines", v, go)
        p = harness.spawn([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          env={"SPIN": str(SPIN)})
        port = int(harness.wait_for_line(p, "ready ").split()[1])

        settled(m, p.pid, "main.blockedOnChan", "1000 [chan receive]")
        prof = pprof.Profile(m.read(p.pid, "goroutines"))
        text = m.read(p.pid, "goroutines.txt").decode()
        own = per_function(own_debug1(port))
        stats = harness.memstats(m.read(p.pid, "memstats").decode())

        harness.check(prof.sample_types[0] == ("goroutine", "count"),
                      "%s: sample types %r" % (label, prof.sample_types))
        for func, want in EXPECT.items():
            got = prof.by_function("goroutine", func)
            slack = SPIN if func == "main.spin" else 0
            harness.check(own.get(func) == want,
                          "%s: the process's own profile has %r in %s" % (label, own.get(func), func))
            harness.check(abs(got - want) <= slack,
                          "%s: goroutines in %s: %r, /debug/pprof/goroutine says %r"
                          % (label, func, got, own[func]))
        stacks = {}
        for s in prof.samples:
            key = tuple(prof.frames(s))
            harness.check(key not in stacks, "%s: two samples with stack %r" % (label, key))
            stacks[key] = True
        total = sum(s["values"][0] for s in prof.samples)
        harness.check(text.startswith("goroutine profile: total %d\n" % total),
                      "%s: goroutines.txt header:\n%s" % (label, text[:400]))
        harness.check(abs(stats["go_Goroutines"] - total) <= SPIN,
                      "%s: memstats go_Goroutines %d, goroutines %d"
                      % (label, stats["go_Goroutines"], total))
        for func, state in (("main.blockedOnChan", "1000 [chan receive"),
                            ("main.waitInSelect", "50 [select"), ("main.sleeper", "10 [sleep")):
            e = entry(text, func)
            harness.check(e is not None and e.startswith(state) and
                          "\ncreated by main.start" in e,
                          "%s: entry of %s:\n%s" % (label, func, e))
        harness.check("runtime.goexit" not in text, "%s: runtime.goexit shown" % label)

        # a leak between two snapshots shows as that entry's count alone
        p.stdin.write("leak\n")
        p.stdin.flush()
        harness.wait_for_line(p, "leaked 100")
        before = settled(m, p.pid, "main.leakedWorker", "100 [chan receive]")
        with tempfile.NamedTemporaryFile(suffix=".pb.gz", delete=False) as f:
            f.write(m.read(p.pid, "goroutines"))
            base = f.name
        p.stdin.write("leak\n")
        p.stdin.flush()
        harness.wait_for_line(p, "leaked 200")
        after = settled(m, p.pid, "main.leakedWorker", "200 [chan receive]")
        # the spinning goroutines move between running and preempted: their entries differ
        moving = ("\nmain.spin\n", " [running", " [runnable")
        drop = lambda t: [l for b in t.split("\n\n") if not any(x in b for x in moving)
                          for l in b.splitlines() if not l.startswith(("#", "goroutine profile"))]
        changed = [l for l in difflib.unified_diff(drop(before), drop(after), lineterm="", n=0)
                   if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        e = entry(after, "main.leakedWorker")
        harness.check(e is not None and e.startswith("200 [chan receive"),
                      "%s: leak entry after:\n%s" % (label, e))
        harness.check(len(changed) == 4 and "-100 [chan receive]" in changed and
                      "+200 [chan receive]" in changed,
                      "%s: diff around the leak:\n%s" % (label, "\n".join(changed)))

        top = harness.go_pprof("-top", m.path(p.pid, "goroutines"))
        harness.check("main.blockedOnChan" in top, "%s: go tool pprof -top:\n%s" % (label, top))
        grown = harness.go_pprof("-top", "-base", base, m.path(p.pid, "goroutines"))
        harness.check(re.search(r"\s100\s+\S+%\s+main\.leakedWorker$", grown, re.M) is not None,
                      "%s: go tool pprof -top -base:\n%s" % (label, grown))
        os.unlink(base)
        print("ok", label, {f: prof.by_function("goroutine", f) for f in EXPECT})
        p.stdin.close()
        p.kill()
        p.wait(timeout=30)
