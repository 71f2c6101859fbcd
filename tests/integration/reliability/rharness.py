"""rharness.py: the reliability tests' helpers, on top of the FUSE harness.

  * FaultProxy: tools/faultproxy/faultproxy.py started on free ports in front of
    the test RGW (a process of ours, stopped through its Popen handle), with
    its control API: rules(), add(), clear(), mode(), stats().
  * proxied(server, proxy): a harness.Server whose endpoint is the proxy, so a
    mount's S3 traffic goes through it while awscli (the independent client)
    talks to RGW directly.
  * RequestRate: requests per second by status from the proxy's timeline, as a
    small text table (what the throttling test prints).
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fuse"))
import harness  # noqa: E402

PROXY = os.path.join(harness.REPO, "tools", "faultproxy", "faultproxy.py")


class FaultProxy:
    def __init__(self, upstream_endpoint, seed=None):
        self.upstream = upstream_endpoint.split("//", 1)[-1].rstrip("/")
        self.port = harness.free_port()
        self.control = harness.free_port()
        cmd = [sys.executable, PROXY, "--listen", str(self.port), "--upstream", self.upstream,
               "--control", str(self.control)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.proc.stdout.readline()  # the banner: listening
        harness.wait_for(self._answers, 10)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def _answers(self):
        try:
            self.stats()
            return True
        except OSError:
            return False

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.control, path), data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def rules(self, rules):
        self._call("PUT", "/rules", rules)

    def add(self, rule):
        self._call("POST", "/rules", rule)

    def clear(self):
        self._call("DELETE", "/rules")

    def mode(self, mode):
        self._call("PUT", "/mode", {"mode": mode})

    def stats(self):
        return self._call("GET", "/stats")

    def reset_stats(self):
        self._call("DELETE", "/stats")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def proxied(server, proxy):
    return harness.Server(server.name, proxy.endpoint, server.access_key, server.secret_key,
                          server.region, server.ceph_conf)


def request_rate(timeline, bucket_s=10):
    """[(t0, total, errors)] per `bucket_s` seconds of the proxy's timeline."""
    rows = {}
    for t, op, status in timeline:
        b = int(t // bucket_s) * bucket_s
        total, errs = rows.get(b, (0, 0))
        bad = not (isinstance(status, int) and status < 500)
        rows[b] = (total + 1, errs + (1 if bad else 0))
    return [(b, n, e) for b, (n, e) in sorted(rows.items())]


class ReliabilityTestCase(harness.FuseTestCase):
    only_servers = ("rgw",)

    def proxy(self, seed=None):
        p = FaultProxy(self.server.endpoint, seed)
        self.addCleanup(p.stop)
        return p

    def mount_via(self, proxy, bucket, **kw):
        m = harness.Mount(proxied(self.server, proxy), bucket, **kw)
        self._mounts.append(m)
        m.start()
        return m
