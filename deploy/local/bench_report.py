#!/usr/bin/env python3
"""Render herald-loadgen JSON results into docs/benchmarks.md.

Usage: bench_report.py RESULTS_DIR OUT.md DISPATCHERS [SCALE] [PG]

The table goes between the markers `<!-- results:start -->` and
`<!-- results:end -->`; the rest of the file (hand-written notes on
optimizations and profiles) is kept. A missing file is created. Each run's
chart (written by herald-loadgen to OUT-without-.md/RUN.svg) is linked.
"""

import datetime
import json
import os
import platform
import subprocess
import sys

START, END = "<!-- results:start -->", "<!-- results:end -->"
RUNS = ["s1", "s1_tuned", "s2", "s3", "s4", "s5_d1", "s5_d2", "s5_d4", "s6"]
# Process labels (bench.sh --process flags) and their column titles;
# dispatcher-1, dispatcher-2, ... are summed.
PROCS = [("ingest", "ingest"), ("dispatcher", "dispatchers"), ("nats", "nats-server"),
         ("postgres", "postgres"), ("loadgen", "loadgen + receivers")]


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        r = json.load(f)
    load_path = os.path.join(results, name + ".load")
    r["load"] = open(load_path).read().strip() if os.path.exists(load_path) else "?"
    return r


def procs(r, label):
    return [p for p in r.get("processes", []) if p["name"] == label or p["name"].startswith(label + "-")]


def cpu(r, label):
    return sum(p["cpu_seconds"] for p in procs(r, label))


def rss(r, label):
    return max([p["peak_rss_mib"] for p in procs(r, label)] or [0.0])


def us_per_delivery(r, seconds):
    return seconds * 1e6 / max(r["deliveries_received"], 1)


def check(r):
    return f'{r["lost"]} lost, {r["duplicates"]} dup, {r["misrouted"]} misrouted'


def verdict(ok):
    return "met" if ok else "**not met**"


def throughput_rows(s):
    rows = []
    for key, title in (("s1", "1. max throughput, 1 endpoint, single POSTs, stock Postgres"),
                       ("s1_tuned", "1t. the same on tuned Postgres (beside it, no target)")):
        r = s[key]
        if r:
            target = f'≥ 5,000/s: {verdict(r["deliveries_per_second"] >= 5000)}' if key == "s1" else "—"
            rows.append((title,
                         f'{r["accepted_per_second"]:.0f} ev/s accepted, **{r["deliveries_per_second"]:.0f} deliveries/s**, '
                         f'p50 {r["latency_ms_p50"]:.0f} ms, p99 {r["latency_ms_p99"]:.0f} ms', target, check(r)))
    if s["s2"]:
        r = s["s2"]
        rows.append(("2. batches of 100",
                     f'{r["accepted_per_second"]:.0f} ev/s accepted, **{r["deliveries_per_second"]:.0f} deliveries/s**',
                     f'≥ 8,000 delivered/s: {verdict(r["deliveries_per_second"] >= 8000)}', check(r)))
    if s["s3"]:
        r = s["s3"]
        rows.append(("3. fan-out to 10 endpoints",
                     f'**{r["deliveries_per_second"]:.0f} deliveries/s** ({r["deliveries_received"]} deliveries)',
                     f'≥ 12,000/s: {verdict(r["deliveries_per_second"] >= 12000)}', check(r)))
    return rows


def latency_rows(s):
    rows = []
    if s["s4"]:
        r = s["s4"]
        ok = r["latency_ms_p99"] <= 20 and r["latency_ms_max"] <= 100
        rows.append(("4. 1,000 events/s for 30 s",
                     f'p50 {r["latency_ms_p50"]:.1f} ms, p95 {r["latency_ms_p95"]:.1f} ms, '
                     f'**p99 {r["latency_ms_p99"]:.1f} ms**, max {r["latency_ms_max"]:.0f} ms',
                     f'p99 ≤ 20 ms and max ≤ 100 ms: {verdict(ok)}', check(r)))
    if s["s5_d1"]:
        d = [s[k]["deliveries_per_second"] if s[k] else 0 for k in ("s5_d1", "s5_d2", "s5_d4")]
        r2, r4 = (d[1] / d[0], d[2] / d[0]) if d[0] else (0, 0)
        rows.append(("5. 50 slow endpoints (100 ms), 1/2/4 dispatchers",
                     f'{d[0]:.0f} / {d[1]:.0f} / {d[2]:.0f} deliveries/s (×{r2:.2f}, ×{r4:.2f})',
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
    return rows


def memory_row(ran):
    peak = max([max(rss(r, "ingest"), rss(r, "dispatcher")) for r in ran] or [0.0])
    clean = all(r["lost"] == 0 and r["duplicates"] == 0 and r["misrouted"] == 0 for r in ran)
    return ("every run: memory and the checker", f"peak RSS of a Herald process {peak:.0f} MiB",
            f"< 100 MiB: {verdict(0 < peak < 100)}; nothing lost or duplicated: {verdict(clean)}", "")


def cpu_lines(s):
    lines = ["CPU per delivered event (µs; from /proc, every thread and, for Postgres, every backend), "
             "and the load average of the machine before each run:", "",
             "| run | " + " | ".join(t for _, t in PROCS) + " | total | cores busy | load before |",
             "| --- " * (len(PROCS) + 4) + "|"]
    for k, r in s.items():
        if not r:
            continue
        total = sum(cpu(r, label) for label, _ in PROCS)
        secs = r["deliveries_received"] / r["deliveries_per_second"] if r["deliveries_per_second"] else 0
        busy = f"{total / secs:.2f}" if secs else "?"
        cells = [f"{us_per_delivery(r, cpu(r, label)):.0f}" for label, _ in PROCS]
        lines.append(f'| {k} | ' + " | ".join(cells) + f' | **{us_per_delivery(r, total):.0f}** | {busy} | {r["load"]} |')
    return lines


def chart_lines(s, out):
    charts = os.path.basename(out)[:-3] if out.endswith(".md") else out
    lines = ["", "Each run second by second (events accepted and deliveries per second; latency p50, p99 and max "
             "of the deliveries arriving in that second):", ""]
    for k, r in s.items():
        if r and os.path.exists(os.path.join(os.path.dirname(out) or ".", charts, k + ".svg")):
            lines.append(f"![{k}]({charts}/{k}.svg)")
    return lines


def header(s, dispatchers, scale, pg):
    command = "deploy/local/bench.sh" if scale in ("1", "1.0") else f"BENCH_SCALE={scale} deploy/local/bench.sh"
    ran = [r for r in s.values() if r]
    routing = [flag for flag, key in (("BENCH_SCHEMA=1", "schema"), ("BENCH_FILTER=1", "filter"))
               if any(r.get(key) for r in ran)]
    if pg == "tuned":
        routing.append("BENCH_PG=tuned")
    if routing:
        command = " ".join(routing) + " " + command
    if os.environ.get("BENCH_BIN"):
        command = f'BENCH_BIN={os.environ["BENCH_BIN"]} ' + command
    if os.environ.get("BENCH_PROFILE") == "dev":
        command = "BENCH_PROFILE=dev " + command
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    settings = "tuned" if pg == "tuned" else "stock (fsync and synchronous_commit on, default shared_buffers; run 1t tuned)"
    return (f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC at commit `{rev}` on "
            f"{os.cpu_count()} cores ({cpu_model()}), {dispatchers} dispatcher(s) unless stated; "
            "all of Herald, NATS, Postgres, the load generator and its receivers on this machine. "
            f"Postgres settings: {settings}. Command: `{command}`{note(command)}.")


def cpu_model():
    """The processor's model name and clock (figures differ between machines), else the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return platform.machine()
    model = info.get("model name\t", "").strip()
    mhz = info.get("cpu MHz\t\t", "").strip()
    if not model:
        return platform.machine()
    return f"{platform.machine()}, {model}" + (f" at {float(mhz):.0f} MHz" if mhz else "")


def note(command):
    if command.startswith("BENCH_BIN="):
        return " (binaries of another build than this commit)"
    if command.startswith("BENCH_PROFILE=dev"):
        return " (debug builds: a smoke run, not figures)"
    return ""


def main():
    results, out, dispatchers = sys.argv[1], sys.argv[2], sys.argv[3]
    scale = sys.argv[4] if len(sys.argv) > 4 else "1"
    pg = sys.argv[5] if len(sys.argv) > 5 else "stock"
    s = {k: load(results, k) for k in RUNS}
    rows = throughput_rows(s) + latency_rows(s) + [memory_row([r for r in s.values() if r])]
    lines = [START, "", header(s, dispatchers, scale, pg), "",
             "| scenario | result | target | checker |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += [""] + cpu_lines(s) + chart_lines(s, out) + ["", END]
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
