"""Debian's prometheus-node-exporter, started with the shipped drop-in's arguments on a
test mount, serves the profiled example's memprof_heap_inuse_bytes{pid} on 127.0.0.1,
equal to the shim's HeapAlloc in memstats (rate 1: exact); run as nobody with the
drop-in's CAP_SYS_PTRACE it sees root's process, without it it does not."""

import os

import harness
import promlib


def scrape(url, pid):
    text = promlib.http_get(url)
    errors = [lb for n, lb, v in promlib.samples(text)
              if n == "node_textfile_scrape_error" and v != 0]
    harness.check(not errors, "node_exporter could not read metrics.prom:\n" + text[:3000])
    return text, promlib.series(text, "memprof_heap_inuse_bytes").get(pid)


def main():
    promlib.require("prometheus-node-exporter", "prometheus-node-exporter")
    m = harness.Mount()
    os.chmod(m.dir, 0o755)  # node_exporter as nobody must reach the mount
    with m:
        leak = promlib.start_leak(rate=1)
        want = harness.memstats(m.read(leak.pid, "memstats").decode())["HeapAlloc"]
        promlib.promtool_check(open(os.path.join(m.dir, "metrics.prom")).read())

        ne, url = promlib.start_node_exporter(m.dir)
        text, got = scrape(url, leak.pid)
        harness.check(got == want, "node_exporter serves memprof_heap_inuse_bytes{pid=\"%d\"} "
                      "%r, memstats HeapAlloc is %d" % (leak.pid, got, want))
        harness.check('memprof_up 1' in text.splitlines(), "memprof_up missing")
        ne.kill()

        if os.geteuid() != 0:
            print("note: not root: node_exporter as nobody is not checked")
            return
        ne, url = promlib.start_node_exporter(m.dir, as_nobody=True)
        _, got = scrape(url, leak.pid)
        harness.check(got == want, "node_exporter as nobody with the drop-in's capabilities "
                      "gets %r for root's process, want %d" % (got, want))
        ne.kill()
        ne, url = promlib.start_node_exporter(m.dir, as_nobody=True, with_caps=False)
        text, got = scrape(url, leak.pid)
        harness.check(got is None, "node_exporter as plain nobody sees root's process")
        harness.check('memprof_up 1' in text.splitlines(), "memprof_up missing for nobody")
        ne.kill()
        print("ok: node_exporter serves HeapAlloc %d of pid %d" % (want, leak.pid))


main()
