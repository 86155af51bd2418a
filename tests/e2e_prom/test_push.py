"""scripts/memprof-push against a stand-in for Grafana Pyroscope's /ingest on 127.0.0.1:
one POST per profiled process with Pyroscope's query parameters and the heap file as
the multipart field `profile`, which is the process's pprof heap as it is (leak_big on
top); a process without the shim is not pushed, and a failing backend is exit status 1."""

import email.parser
import http.server
import os
import subprocess
import threading
import time
import urllib.parse

import harness
import pprof
import promlib

SCRIPT = os.path.join(harness.SOURCE, "scripts", "memprof-push")


class Ingest(http.server.BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        head = "Content-Type: %s\r\n\r\n" % self.headers["Content-Type"]
        msg = email.parser.BytesParser().parsebytes(head.encode() + body)
        parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                 for p in msg.get_payload()}
        url = urllib.parse.urlparse(self.path)
        Ingest.received.append((url.path, urllib.parse.parse_qs(url.query), parts))
        self.send_response(Ingest.status)
        self.end_headers()

    def log_message(self, *args):
        pass


def push(m, port):
    env = dict(os.environ, MEMPROF_MOUNT=m.dir, MEMPROF_PUSH_URL="http://127.0.0.1:%d" % port,
               MEMPROF_PUSH_LABELS="env=test")
    env.pop("LD_PRELOAD", None)
    return subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)


def main():
    promlib.require("curl", "curl")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with harness.Mount() as m:
        leak = promlib.start_leak(rate=1)
        plain = harness.spawn(["sleep", "1000"])
        before = int(time.time())
        r = push(m, port)
        harness.check(r.returncode == 0, "memprof-push failed: %s%s" % (r.stdout, r.stderr))
        mine = [(path, q, parts) for path, q, parts in Ingest.received
                if "pid=%d" % leak.pid in q.get("name", [""])[0]]
        harness.check(len(mine) == 1, "%d pushes for the leak; all: %r"
                      % (len(mine), [q.get("name") for _, q, _ in Ingest.received]))
        path, q, parts = mine[0]
        harness.check(path == "/ingest", "pushed to %s" % path)
        host = os.uname().nodename
        want_name = "leak{host=%s,pid=%d,env=test}" % (host, leak.pid)
        harness.check(q["name"] == [want_name] and q["format"] == ["pprof"],
                      "query: %r (want name %s)" % (q, want_name))
        frm, until = int(q["from"][0]), int(q["until"][0])
        harness.check(before <= until <= time.time() + 1 and frm == until - 60,
                      "from %d until %d" % (frm, until))
        prof = pprof.Profile(parts["profile"])
        top = prof.by_top_function("inuse_space")
        harness.check(max(top, key=top.get) == "leak_big" and top["leak_big"] == 4 << 20,
                      "the pushed heap's top: %r" % sorted(top.items(), key=lambda x: -x[1])[:3])
        harness.check(all("pid=%d," % plain.pid not in q.get("name", [""])[0]
                          for _, q, _ in Ingest.received), "a process without the shim pushed")

        Ingest.status = 500
        r = push(m, port)
        harness.check(r.returncode == 1 and "failed" in r.stderr,
                      "a failing backend: exit %d, %r" % (r.returncode, r.stderr))
        print("ok: pushed %s, %d bytes of pprof" % (want_name, len(parts["profile"])))
    server.shutdown()


main()
