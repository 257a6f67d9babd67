#!/usr/bin/env python3
"""Render herald-loadgen JSON results into docs/benchmarks.md.

Usage: bench_report.py RESULTS_DIR OUT.md DISPATCHERS

The table goes between the markers `<!-- results:start -->` and
`<!-- results:end -->`; the rest of the file (hand-written notes on
optimizations and profiles) is kept. A missing file is created.
"""

import datetime
import json
import os
import platform
import subprocess
import sys

START, END = "<!-- results:start -->", "<!-- results:end -->"


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def rss(r, name):
    vals = [p["peak_rss_mib"] for p in r.get("processes", []) if p["name"] == name]
    return max(vals) if vals else 0.0


def cpu(r, name):
    return sum(p["cpu_seconds"] for p in r.get("processes", []) if p["name"] == name)


def check(r):
    return f'{r["lost"]} lost, {r["duplicates"]} dup, {r["misrouted"]} misrouted'


def verdict(ok):
    return "met" if ok else "**not met**"


def main():
    results, out, dispatchers = sys.argv[1], sys.argv[2], sys.argv[3]
    scale = sys.argv[4] if len(sys.argv) > 4 else "1"
    command = "deploy/local/bench.sh" if scale in ("1", "1.0") else f"BENCH_SCALE={scale} deploy/local/bench.sh"
    rows = []
    s = {k: load(results, k) for k in ["s1", "s2", "s3", "s4", "s5_d1", "s5_d2", "s5_d4", "s6"]}
    if s["s1"]:
        r = s["s1"]
        ok = r["deliveries_per_second"] >= 5000
        mem = max(rss(r, "herald-ingest"), rss(r, "herald-dispatch"))
        rows.append(("1. max throughput, 1 endpoint, single POSTs",
                     f'{r["accepted_per_second"]:.0f} ev/s accepted, **{r["deliveries_per_second"]:.0f} deliveries/s**, '
                     f'p99 {r["latency_ms_p99"]:.0f} ms; peak RSS ingest {rss(r, "herald-ingest"):.0f} MiB, '
                     f'dispatcher {rss(r, "herald-dispatch"):.0f} MiB',
                     f'≥ 5,000/s: {verdict(ok)}; RSS < 100 MiB: {verdict(0 < mem < 100)}', check(r)))
    if s["s2"]:
        r = s["s2"]
        ok = r["accepted_per_second"] >= 20000 and r["deliveries_per_second"] >= 8000
        rows.append(("2. batches of 100",
                     f'**{r["accepted_per_second"]:.0f} ev/s accepted**, **{r["deliveries_per_second"]:.0f} deliveries/s**',
                     f'≥ 20,000 accepted and ≥ 8,000 delivered: {verdict(ok)}', check(r)))
    if s["s3"]:
        r = s["s3"]
        rows.append(("3. fan-out to 10 endpoints",
                     f'**{r["deliveries_per_second"]:.0f} deliveries/s** ({r["deliveries_received"]} deliveries)',
                     f'≥ 12,000/s: {verdict(r["deliveries_per_second"] >= 12000)}', check(r)))
    if s["s4"]:
        r = s["s4"]
        rows.append(("4. 1,000 events/s for 30 s",
                     f'p50 {r["latency_ms_p50"]:.1f} ms, p95 {r["latency_ms_p95"]:.1f} ms, '
                     f'**p99 {r["latency_ms_p99"]:.1f} ms**, max {r["latency_ms_max"]:.0f} ms',
                     f'p99 ≤ 20 ms: {verdict(r["latency_ms_p99"] <= 20)}', check(r)))
    if s["s5_d1"]:
        d1 = s["s5_d1"]["deliveries_per_second"]
        d2 = s["s5_d2"]["deliveries_per_second"] if s["s5_d2"] else 0
        d4 = s["s5_d4"]["deliveries_per_second"] if s["s5_d4"] else 0
        r2, r4 = (d2 / d1 if d1 else 0), (d4 / d1 if d1 else 0)
        rows.append(("5. 50 slow endpoints (100 ms), 1/2/4 dispatchers",
                     f'{d1:.0f} / {d2:.0f} / {d4:.0f} deliveries/s (×{r2:.2f}, ×{r4:.2f})',
                     f'×1.8 and ×3.2: {verdict(r2 >= 1.8 and r4 >= 3.2)}',
                     "; ".join(check(s[k]) for k in ["s5_d1", "s5_d2", "s5_d4"] if s[k])))
    if s["s6"]:
        r = s["s6"]
        base = s["s4"]["latency_ms_p99"] if s["s4"] else None
        target = f'within 1.5× of scenario 4 ({1.5 * base:.1f} ms): {verdict(r["latency_ms_p99"] <= 1.5 * base)}' \
            if base else "needs scenario 4"
        rows.append(("6. dead endpoint piling up retries beside a healthy one at 500 ev/s",
                     f'healthy p50 {r["latency_ms_p50"]:.1f} ms, **p99 {r["latency_ms_p99"]:.1f} ms**',
                     target, check(r)))

    ran = [r for r in s.values() if r]
    routing = [flag for flag, key in (("BENCH_SCHEMA=1", "schema"), ("BENCH_FILTER=1", "filter"))
               if any(r.get(key) for r in ran)]
    if routing:
        command = " ".join(routing) + " " + command
    if os.environ.get("BENCH_PROFILE") == "dev":
        command = "BENCH_PROFILE=dev " + command + " (debug builds: a smoke run, not figures)"
    with_routing = {
        "BENCH_SCHEMA=1": "a JSON Schema on the event type",
        "BENCH_FILTER=1": "a payload filter on every endpoint",
    }
    routing_note = (" With " + " and ".join(with_routing[f] for f in routing) + ".") if routing else ""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    lines = [START, "",
             f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC at commit `{rev}` on "
             f"{os.cpu_count()} cores ({platform.machine()}), {dispatchers} dispatcher(s) unless stated; "
             "all of Herald, NATS, Postgres, the load generator and its receivers on this machine. "
             f"Command: `{command}`.{routing_note}", "",
             "| scenario | result | target | checker |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "CPU seconds per process over each run:", ""]
    lines += ["| run | ingest | dispatchers | nats-server | postgres | loadgen |",
              "| --- | --- | --- | --- | --- | --- |"]
    for k, r in s.items():
        if r:
            lines.append(f'| {k} | {cpu(r, "herald-ingest"):.1f} | {cpu(r, "herald-dispatch"):.1f} | '
                         f'{cpu(r, "nats-server"):.1f} | {cpu(r, "postgres"):.1f} | {cpu(r, "herald-loadgen"):.1f} |')
    lines += ["", END]
    block = "\n".join(lines)

    if os.path.exists(out):
        text = open(out).read()
    else:
        text = "# Herald benchmarks\n\n" + START + "\n" + END + "\n"
    if START in text and END in text:
        pre, rest = text.split(START, 1)
        post = rest.split(END, 1)[1]
        text = pre + block + post
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
