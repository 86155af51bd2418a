"""A load generator for the fault tests: THREADS threads read files of a mount over and
over and check each read is a whole, exact file; prints a JSON summary when done.

    reader.py PLAN.json

PLAN: {"threads": N, "rounds": R (or 0: until stop_file exists), "stop_file": PATH,
       "files": [[path, kind, expect], ...], optional "root" and "under_dev": the mount point
and the device of the directory below it} where kind is "leak" (heap or allocs of the
leak example, expect a faultlib.leak_spec), "memstats" (expect the shim's figures),
"sha" (expect the sha256 of the whole file) or "threads.txt" (expect a function name).
Every error is counted by errno name (ENOENT-on-mount: an ENOENT although the mount point
showed a live mount just before); a read that succeeds with wrong content is "bad".
"""

import errno
import json
import os
import sys
import threading

from faultlib import leak_problems, sha, shim_stats


def problems(data, kind, expect):
    if kind == "leak":
        return leak_problems(data, expect)
    if kind == "memstats":
        try:
            got = shim_stats(data.decode())
        except Exception as e:
            return ["memstats does not parse: %r" % e]
        return [] if got == expect else ["memstats %r, want %r" % (got, expect)]
    if kind == "sha":
        return [] if sha(data) == expect else ["%d bytes with another sha256" % len(data)]
    if kind == "threads.txt":
        text = data.decode(errors="replace")
        return [] if expect in text and text.endswith("\n") else ["threads.txt: " + text[-200:]]
    return ["unknown kind " + kind]


def main():
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    lock = threading.Lock()
    summary = {"ok": 0, "errors": {}, "bad": [], "per_file": {}}

    def worker(index):
        files = plan["files"]
        rounds = plan.get("rounds", 0)
        n = 0
        while (rounds and n < rounds) or (not rounds and not os.path.exists(plan["stop_file"])):
            path, kind, expect = files[(index + n) % len(files)]
            n += 1
            live = False
            if plan.get("root"):
                # whether the mount point showed a live mount before the open, rather than
                # a dead one (ENOTCONN) or the directory below it (between the lazy
                # unmount of a dead mount and the next mount)
                try:
                    live = os.stat(plan["root"]).st_dev != plan["under_dev"]
                except OSError:
                    pass
            try:
                with open(path, "rb") as f:
                    data = f.read()
                err = None
            except OSError as e:
                err = errno.errorcode.get(e.errno, str(e.errno))
                if err == "ENOENT" and live:
                    err = "ENOENT-on-mount"
            with lock:
                if err:
                    summary["errors"][err] = summary["errors"].get(err, 0) + 1
                    continue
                bad = problems(data, kind, expect)
                if bad:
                    if len(summary["bad"]) < 20:
                        summary["bad"].append("%s: %s" % (path, "; ".join(bad)))
                    summary["nbad"] = summary.get("nbad", 0) + 1
                else:
                    summary["ok"] += 1
                    summary["per_file"][path] = summary["per_file"].get(path, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(plan["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
