#!/usr/bin/env python3
"""Reads the reports of the Cirrus benchmarks (their printed output) and prints one summary table.

Used by bench/run; each argument is the output of one benchmark script. Missing ones are left out.
"""
import argparse
import json
import re
import statistics


def rows(text):
    """Markdown table rows of a report, as lists of stripped cells."""
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def out(cells):
    print("| " + " | ".join(str(c) for c in cells) + " |")


def blob(text):
    print("### Transfers (blob service, local disk) against the machine's raw limits")
    print()
    out(["size", "operation", "Cirrus MB/s", "raw MB/s", "ratio"])
    out(["---"] * 5)
    for r in rows(text):
        if len(r) >= 5 and r[1] in ("upload", "download") and r[0].endswith("iB"):
            out(r[:5])
    peaks = re.findall(r"1 GiB (upload|download):\s+idle before [\d.]+ MiB, peak [\d.]+ MiB, peak − idle ([\d.]+) MiB", text)
    if peaks:
        worst = {}
        for op, delta in peaks:
            worst[op] = max(worst.get(op, 0.0), float(delta))
        print()
        print("blob RSS growth during 1 GiB transfers (peak − idle, worst run): "
              + ", ".join(f"{op} {value:.1f} MiB" for op, value in sorted(worst.items())))
    print()


def metadata(text):
    print("### Metadata requests through the gateway (a folder of 50; a folder of 100,000 items)")
    print()
    ratios = {r[0]: r for r in rows(text) if len(r) == 4 and re.match(r"^[\d.]+$", r[1])}
    out(["operation", "req/s (median)", "p50 ms", "p99 ms", "req/s gateway ÷ direct", "non-2xx"])
    out(["---"] * 6)
    for r in rows(text):
        if len(r) >= 10 and r[1] == "gateway":
            out([r[0], r[2], r[4], r[6], ratios.get(r[0], ["", "–"])[1], r[8]])
    print()


def thumbnail(text):
    print("### Thumbnails against vipsthumbnail (same images, same machine)")
    print()
    table = rows(text)
    out(["image", "height", "Cirrus thumbnails/s", "vipsthumbnail/s", "throughput ratio", "latency ratio (p50)"])
    out(["---"] * 6)
    ratios = [r for r in table if len(r) == 4 and re.match(r"^\d+$", r[1]) and re.match(r"^[\d.]+$", r[2])]
    for image, height, throughput, latency in ratios:
        ours = next((r[3] for r in table if len(r) >= 9 and r[0] == image and r[1] == height
                     and re.match(r"cirrus render, \d+ threads", r[2]) and not r[2].startswith("cirrus render, 1 ")), "–")
        theirs = next((r[3] for r in table if len(r) >= 9 and r[0] == image and r[1] == height
                       and re.match(r"vipsthumbnail, \d+ processes", r[2])), "–")
        out([image, height, ours, theirs, throughput, latency])
    polled = next((r for r in table if len(r) >= 3 and "201 → ready, polled" in r[0]), None)
    if polled:
        print()
        print(f"upload (201) → thumbnails ready on the whole stack: p50 {polled[1]} ms, p95 {polled[2]} ms")
    print()


def auth(text):
    print("### Auth (one core)")
    print()
    values = {}
    for r in rows(text):
        if len(r) == 3 and re.match(r"^[\d.]+$", r[1]):
            values.setdefault(r[0], []).append(float(r[1]))
    out(["measure", "per second (median of runs)", "runs"])
    out(["---"] * 3)
    for name, numbers in values.items():
        out([name, f"{statistics.median(numbers):g}", len(numbers)])
    print()


def rss(path):
    try:
        with open(path) as f:
            peak = json.load(f)
    except (OSError, ValueError):
        return
    print("### Peak resident memory during the whole run (VmHWM of each process, largest)")
    print()
    out(["process", "peak MiB"])
    out(["---"] * 2)
    for name in sorted(peak):
        out([name, f"{peak[name] / 1024:.1f}"])
    print()


def number(text):
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def targets(texts, rss_path):
    """Issue 16's targets, each with the figure this run measured and whether it holds."""
    checks = []  # (target, measured text, met: True/False/None when not measured)

    def add(name, value, goal, fmt, compare):
        checks.append((name, "–" if value is None else fmt.format(value), None if value is None else compare(value, goal)))

    table = rows(texts.get("metadata", ""))
    ratios = {r[0]: r for r in table if len(r) == 4 and re.match(r"^[\d.]+$", r[1])}

    def cell(label_start, via, index):
        row = next((r for r in table if len(r) >= 10 and r[0].startswith(label_start) and r[1] == via), None)
        return number(row[index]) if row else None

    at_least = lambda v, g: v >= g
    below = lambda v, g: v < g
    add("list of 50 via the gateway ≥ 2,000 req/s", cell("list of 50", "gateway", 2), 2000, "{:.0f} req/s", at_least)
    add("list of 50 via the gateway p99 < 20 ms", cell("list of 50", "gateway", 6), 20, "{:.2f} ms", below)
    add("GET /v1/files/{id} via the gateway ≥ 5,000 req/s", cell("GET /v1/files", "gateway", 2), 5000, "{:.0f} req/s", at_least)
    ratio = next((number(r[1]) for label, r in ratios.items() if label.startswith("GET /v1/files")), None)
    add("GET /v1/files/{id}: gateway ≥ 0.85 of direct", ratio, 0.85, "{:.2f}", at_least)
    add("page of 100 in the 100,000-item folder ≥ 2,000 req/s", cell("list first page", "gateway", 2), 2000, "{:.0f} req/s", at_least)
    thumb = next((r for r in rows(texts.get("thumbnail", "")) if len(r) >= 3 and "201 → ready, polled" in r[0]), None)
    add("upload → thumbnails ready p50 < 150 ms", number(thumb[1]) if thumb else None, 150, "{:.0f} ms", below)
    add("upload → thumbnails ready p95 < 300 ms", number(thumb[2]) if thumb else None, 300, "{:.0f} ms", below)
    upload = next((r for r in rows(texts.get("blob", "")) if len(r) >= 5 and r[0] == "1 MiB" and r[1] == "upload"), None)
    add("1 MiB uploads ≥ 0.5 of a raw copy", number(upload[4]) if upload else None, 0.5, "{:.2f}", at_least)
    peak = None
    if rss_path:
        try:
            with open(rss_path) as f:
                peak = json.load(f).get("cirrus-metadata")
        except (OSError, ValueError):
            peak = None
    add("metadata peak RSS ≤ 80 MiB", None if peak is None else peak / 1024, 80, "{:.1f} MiB", lambda v, g: v <= g)

    print("### Targets (issue 16), this run")
    print()
    out(["target", "measured", "status"])
    out(["---"] * 3)
    for name, measured, met in checks:
        out([name, measured, "not measured in this run" if met is None else ("met" if met else "NOT MET")])
    print()


def main():
    parser = argparse.ArgumentParser()
    for name in ("blob", "metadata", "thumbnail", "auth", "rss"):
        parser.add_argument(f"--{name}")
    args = parser.parse_args()
    texts = {}
    for name, render in (("blob", blob), ("metadata", metadata), ("thumbnail", thumbnail), ("auth", auth)):
        path = getattr(args, name)
        if path:
            with open(path) as f:
                texts[name] = f.read()
            render(texts[name])
    if args.rss:
        rss(args.rss)
    targets(texts, args.rss)


if __name__ == "__main__":
    main()
