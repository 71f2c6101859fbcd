#!/usr/bin/python3
"""Helpers for bench/run-mount-bench.

  report.py metrics-diff BEFORE AFTER   stagefs /metrics text files -> "GET=3 HEAD=10 sent=1.0MiB"
  report.py table RESULTS.tsv           the results table, the ratios and the goals (markdown)

RESULTS.tsv lines are "fs<TAB>key<TAB>value"; a missing or non-numeric value
prints as is ("ERR ..." for a failed step, "n/a" where it does not apply).
"""
import re
import sys

FS = ["local", "passthrough", "stagefs", "s3fs", "rclone"]
TITLE = {"local": "local disk", "passthrough": "passthrough_ll", "stagefs": "stagefs",
         "s3fs": "s3fs 1.90", "rclone": "rclone 1.60"}
PEERS = ["s3fs", "rclone"]

# key, label, unit, better ("low"/"high"), format
ROWS = [
    ("ls_cold_s", "`ls -l` {ls_n} objects, cold", "s", "low", "{:.3f}"),
    ("ls_warm_s", "`ls -l` {ls_n} objects, warm", "s", "low", "{:.3f}"),
    ("ls_settled_s", "`ls -l` {ls_n} objects, warm, 3rd run (stagefs: after its background "
     "imports stopped)", "s", "low", "{:.3f}"),
    ("stat_cold_ps", "stat {ls_n} files, cold", "files/s", "high", "{:.0f}"),
    ("stat_warm_ps", "stat {ls_n} files, warm", "files/s", "high", "{:.0f}"),
    ("seq_read_mibps", "sequential read {seq_mib} MiB, cold", "MiB/s", "high", "{:.0f}"),
    ("ttfb_ms", "time to first byte (open + 4 KiB read), cold", "ms", "low", "{:.1f}"),
    ("rand_iops", "4 KiB random read, QD1, {rand_mib} MiB file, cold start", "IOPS", "high",
     "{:.0f}"),
    ("create_ps", "create+write+close {create_n} x {create_kib} KiB", "files/s", "high",
     "{:.0f}"),
    ("create_s3_s", "... until all {create_n} are in S3 (from first create)", "s", "low",
     "{:.2f}"),
    ("write_mibps", "sequential write {write_mib} MiB (write+close)", "MiB/s", "high", "{:.0f}"),
    ("write_s3_s", "... until in S3 (from open)", "s", "low", "{:.2f}"),
    ("upd_sent_mib", "4 KiB overwrite at {upd_off_mib} MiB of a {upd_mib} MiB object: bytes sent "
     "to S3 (proxy)", "MiB", "low", "{:.2f}"),
    ("upd_recv_mib", "... bytes received from S3 (proxy)", "MiB", "low", "{:.2f}"),
    ("upd_s3_s", "... time until the object is updated in S3", "s", "low", "{:.2f}"),
    ("upd_verify", "... object content afterwards (sha256 vs expected)", "", "", "{}"),
    ("rss_mib", "peak RSS of the daemon (max VmHWM over its mounts)", "MiB", "low", "{:.0f}"),
]


def load(path):
    res = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t", 2)
        if len(parts) == 3:
            res.setdefault(parts[0], {})[parts[1]] = parts[2]
    return res


def num(res, fs, key):
    try:
        return float(res.get(fs, {}).get(key, ""))
    except ValueError:
        return None


def cell(res, fs, key, fmt):
    v = res.get(fs, {}).get(key)
    if v is None:
        return "—"
    try:
        return fmt.format(float(v)) if fmt != "{}" else v
    except ValueError:
        return v


def parse_metrics(path):
    out = {}
    for line in open(path):
        m = re.match(r'^(stagefs_s3_requests_total)\{op="([^"]+)"\}\s+(\S+)', line)
        if m:
            out[m.group(2)] = float(m.group(3))
            continue
        m = re.match(r"^(stagefs_s3_bytes_sent_total|stagefs_s3_bytes_received_total)\s+(\S+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def metrics_diff(before, after):
    a, b = parse_metrics(before), parse_metrics(after)
    parts = []
    for k in sorted(b):
        if k.startswith("stagefs_s3_bytes"):
            continue
        d = b[k] - a.get(k, 0)
        if d:
            parts.append(f"{k}={d:.0f}")
    for k, name in (("stagefs_s3_bytes_sent_total", "sent"),
                    ("stagefs_s3_bytes_received_total", "received")):
        d = b.get(k, 0) - a.get(k, 0)
        parts.append(f"{name}={d / 2**20:.2f}MiB")
    return " ".join(parts) if parts else "none"


def table(path):
    res = load(path)
    p = res.get("params", {})
    fmt_args = {
        "ls_n": p.get("ls_n", "?"), "seq_mib": p.get("seq_mib", "?"),
        "rand_mib": p.get("rand_mib", "?"), "create_n": p.get("create_n", "?"),
        "create_kib": f"{int(p.get('create_bytes', 0)) / 1024:g}",
        "write_mib": p.get("write_mib", "?"), "upd_mib": p.get("upd_mib", "?"),
        "upd_off_mib": p.get("upd_off_mib", "?"),
    }
    fss = [f for f in FS if f in res]
    print("| workload | unit | " + " | ".join(TITLE[f] for f in fss) + " |")
    print("|---|---|" + "---|" * len(fss))
    for key, label, unit, _, fmt in ROWS:
        if not any(key in res.get(f, {}) for f in fss):
            continue
        print(f"| {label.format(**fmt_args)} | {unit} | "
              + " | ".join(cell(res, f, key, fmt) for f in fss) + " |")
    raw = res.get("raw", {})
    if raw:
        print()
        print(f"Raw S3 GET throughput of the same {p.get('seq_mib', '?')} MiB object, same run "
              f"(curl --aws-sigv4, N parallel ranged GETs): "
              + ", ".join(f"{k.split('_')[1]}: {v} MiB/s"
                          for k, v in sorted(((k, v) for k, v in raw.items()
                                              if k.startswith("getp_")),
                                             key=lambda kv: int(kv[0].split('_')[1])))
              + f"; best {float(raw.get('best_mibps', 0)):.0f} MiB/s.")

    # Ratios and goals.
    def better_peer(key, better):
        vals = [(num(res, f, key), f) for f in PEERS if num(res, f, key) is not None]
        if not vals:
            return None, None
        return (min if better == "low" else max)(vals)

    def ratio_line(text, value, goal_ok, goal_text):
        if value is None:
            print(f"| {text} | — | {goal_text} | not measured |")
        else:
            print(f"| {text} | {value} | {goal_text} | {'met' if goal_ok else 'MISSED'} |")

    print()
    print("| comparison | measured | goal | verdict |")
    print("|---|---|---|---|")
    s = lambda k: num(res, "stagefs", k)
    pt = lambda k: num(res, "passthrough", k)
    bv, bf = better_peer("ls_cold_s", "low")
    if bv and s("ls_cold_s"):
        r = bv / s("ls_cold_s")
        ratio_line(f"`ls -l` cold: better peer ({TITLE[bf]}) time / stagefs time", f"{r:.1f}x",
                   r >= 5, ">= 5x")
    for key, what in (("ls_warm_s", "`ls -l` warm"),
                      ("ls_settled_s", "`ls -l` warm, imports done")):
        if s(key) and pt(key):
            r = s(key) / pt(key)
            ratio_line(f"{what}: stagefs time / passthrough_ll time", f"{r:.2f}x", r <= 1.5,
                       "<= 1.5x")
    if s("stat_warm_ps") and pt("stat_warm_ps"):
        r = pt("stat_warm_ps") / s("stat_warm_ps")
        ratio_line("stat warm: passthrough_ll rate / stagefs rate", f"{r:.2f}x", r <= 1.5,
                   "<= 1.5x")
    rawbest = num(res, "raw", "best_mibps")
    if s("seq_read_mibps") and rawbest:
        r = s("seq_read_mibps") / rawbest
        ratio_line("sequential read cold: stagefs / raw parallel GET", f"{r * 100:.0f}%", r >= 0.9,
                   ">= 90%")
    if s("create_ps") and pt("create_ps"):
        r = s("create_ps") / pt("create_ps")
        ratio_line("creates: stagefs / passthrough_ll", f"{r * 100:.0f}%", r >= 0.7, ">= 70%")
    bv, bf = better_peer("create_ps", "high")
    if bv and s("create_ps"):
        r = s("create_ps") / bv
        ratio_line(f"creates: stagefs / better peer ({TITLE[bf]})", f"{r:.1f}x", r >= 4, ">= 4x")
    if s("upd_sent_mib") is not None:
        v = s("upd_sent_mib")
        ratio_line("partial update: bytes stagefs sent to S3 (proxy count)", f"{v:.2f} MiB",
                   v <= 8 * 1.25, "about one 8 MiB part")
    # Informational ratios against the better peer for every row.
    print()
    print("| workload | stagefs vs better peer | stagefs vs passthrough_ll |")
    print("|---|---|---|")
    for key, label, unit, better, fmt in ROWS:
        if not better or s(key) is None:
            continue
        bv, bf = better_peer(key, better)
        def rel(other):
            if other is None or not s(key) or not other:
                return "—"
            r = other / s(key) if better == "low" else s(key) / other
            return f"{r:.2f}x better" if r >= 1 else f"{1 / r:.2f}x worse"
        peer = f"{rel(bv)} ({TITLE[bf]})" if bv is not None else "—"
        print(f"| {label.format(**fmt_args)} | {peer} | {rel(pt(key))} |")
    req = {k: v for k, v in res.get("stagefs", {}).items() if k.startswith("req_")}
    if req:
        print()
        print("stagefs S3 requests per workload (from its /metrics; body bytes):")
        print()
        print("| workload | requests |")
        print("|---|---|")
        for k, v in req.items():
            print(f"| {k[4:]} | {v} |")


if __name__ == "__main__":
    if sys.argv[1] == "metrics-diff":
        print(metrics_diff(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
