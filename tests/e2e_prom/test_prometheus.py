"""A Prometheus server (Debian's prometheus) scraping node_exporter on loopback, with the
shipped alerting rules loaded: a PromQL query through its HTTP API returns the profiled
example's memprof_heap_inuse_bytes, equal to memstats' HeapAlloc, and the rules evaluate."""

import json
import os
import subprocess
import tempfile
import time
import urllib.parse

import harness
import promlib

RULES = os.path.join(harness.SOURCE, "scripts", "prometheus", "memprof-rules.yml")
CONFIG = """global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:%d']
"""


def api(base, path, **params):
    body = promlib.http_get(base + path + "?" + urllib.parse.urlencode(params))
    r = json.loads(body)
    harness.check(r.get("status") == "success", "%s: %s" % (path, body[:2000]))
    return r["data"]


def main():
    promlib.require("prometheus", "prometheus")
    r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    harness.check(r.returncode == 0, "promtool check rules: %s%s" % (r.stdout, r.stderr))
    with harness.Mount() as m:
        leak = promlib.start_leak(rate=1)
        want = harness.memstats(m.read(leak.pid, "memstats").decode())["HeapAlloc"]
        _, ne_url = promlib.start_node_exporter(m.dir)
        ne_port = int(ne_url.split(":")[2].split("/")[0])

        work = tempfile.mkdtemp(prefix="memprof-prometheus-")
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(CONFIG % (json.dumps(RULES), ne_port))
        port = promlib.free_port()
        base = "http://127.0.0.1:%d" % port
        prom = harness.spawn(["prometheus", "--config.file=" + config,
                              "--storage.tsdb.path=" + os.path.join(work, "data"),
                              "--web.listen-address=127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile())
        promlib.wait_http(base + "/-/ready", prom, "prometheus", timeout=60)

        query = 'memprof_heap_inuse_bytes{pid="%d"}' % leak.pid
        deadline = time.time() + 60
        result = []
        while not result and time.time() < deadline:
            result = api(base, "/api/v1/query", query=query)["result"]
            if not result:
                time.sleep(0.5)
        harness.check(result, "no series for %s within 60 s of scraping" % query)
        got = float(result[0]["value"][1])
        harness.check(got == want, "Prometheus has %s = %r, memstats HeapAlloc %d"
                      % (query, got, want))
        harness.check(result[0]["metric"].get("comm") == "leak", "labels: %r"
                      % result[0]["metric"])

        # the README's queries (Many hosts) evaluate; RSS minus the heap is what it is
        for q in ["(memprof_heap_inuse_bytes - memprof_heap_inuse_bytes offset 1h > 64 * 1024 "
                  "* 1024) and min_over_time(deriv(memprof_heap_inuse_bytes[10m])[1h:1m]) > 0",
                  "topk(10, memprof_heap_inuse_bytes)",
                  "min_over_time(go_memstats_heap_alloc_bytes[10m])"]:
            api(base, "/api/v1/query", query=q)
        q = ('memprof_process_resident_memory_bytes - on(instance, pid) '
             'memprof_heap_inuse_bytes{pid="%d"}' % leak.pid)
        res = api(base, "/api/v1/query", query=q)["result"]
        rss = promlib.series(promlib.http_get(ne_url), "memprof_process_resident_memory_bytes")
        harness.check(len(res) == 1 and 0 < float(res[0]["value"][1]) < rss[leak.pid],
                      "%s: %r" % (q, res))

        # the rules loaded and evaluated without error ("unknown" until their first
        # evaluation; an hour's growth is not waited for)
        deadline = time.time() + 30
        while True:
            rules = [rule for g in api(base, "/api/v1/rules")["groups"] for rule in g["rules"]]
            if (rules and all(rule.get("health") != "unknown" for rule in rules)) or \
                    time.time() > deadline:
                break
            time.sleep(0.5)
        names = sorted(rule["name"] for rule in rules)
        harness.check(names == ["MemprofGoHeapGrowing", "MemprofHeapGrowing"],
                      "rules loaded: %r" % names)
        for rule in rules:
            harness.check(rule.get("health") == "ok", "rule %s: %r" % (rule["name"], rule))
        prom.terminate()
        prom.wait(30)
        subprocess.run(["rm", "-rf", work])
        print("ok: Prometheus returns %s = %d" % (query, got))


main()
