#!/usr/bin/env python3
"""Plots tapd-bench results (the files `tapd-bench --json PATH` writes) as SVG.

    scripts/bench/plot.py OUT_DIR results.json [more.json ...]

writes
  OUT_DIR/throughput.svg        one-time TAP sign-ins per second against requests in flight,
                                one line per file (SQLite and PostgreSQL on one chart): the
                                sweep's points, or the single closed-loop run without a sweep;
  OUT_DIR/latency-<name>.svg    p50/p90/p99/p99.9 of every measured run of that file
                                (logarithmic axis: the percentiles span orders of magnitude).

Standard library only: the SVG is written by hand.
"""

import json
import math
import os
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 1000, 480
LEFT, RIGHT, TOP, BOTTOM = 80, 330, 50, 70
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]
PERCENTILES = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]
CLOSED_LOOP_SIGN_IN = "TAP sign-in, one-time, closed loop"


def label(report):
    """What distinguishes one file's runs from another's: database, replicas, directory size."""
    text = report["database"]
    if report.get("replicas", 1) > 1:
        text += f", {report['replicas']} replicas"
    if report.get("directory_users", 0) > 0:
        text += f", +{human(report['directory_users'])} users"
    return text


def human(n):
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def nice_ceiling(value):
    """The smallest 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


class Svg:
    def __init__(self, title):
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        ]
        self.text(WIDTH / 2, 25, title, size=16, anchor="middle")

    def text(self, x, y, content, size=12, anchor="start", rotate=None):
        transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{transform}>'
            f"{escape(str(content))}</text>"
        )

    def line(self, x1, y1, x2, y2, colour="#000", width=1, dash=None):
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="{width}"{dashes}/>'
        )

    def rect(self, x, y, w, h, colour):
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{colour}"/>'
        )

    def polyline(self, points, colour):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )

    def circle(self, x, y, colour):
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')

    def legend(self, entries):
        x, y = WIDTH - RIGHT + 20, TOP + 10
        for i, (name, colour) in enumerate(entries):
            self.rect(x, y + i * 20 - 9, 12, 12, colour)
            self.text(x + 18, y + i * 20 + 1, name)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(self.parts + ["</svg>"]) + "\n")


def plot_area():
    return LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def throughput_points(report):
    """(concurrency, sign-ins per second) of the file's sweep, else of its closed-loop run."""
    runs = [r for r in report["results"] if r["kind"] == "sweep"]
    if not runs:
        runs = [r for r in report["results"] if r["name"] == CLOSED_LOOP_SIGN_IN]
    return sorted((r["concurrency"], r["per_second"]) for r in runs if r["concurrency"] > 0)


def plot_throughput(reports, path):
    series = [(label(r), throughput_points(r)) for r in reports]
    series = [(name, points) for name, points in series if points]
    svg = Svg("One-time TAP sign-ins per second against requests in flight")
    x0, y0, w, h = plot_area()
    levels = sorted({c for _, points in series for c, _ in points}) or [1]
    # Concurrency on a log-2 axis: 1, 4, 16, 64, 256 fall evenly.
    lo, hi = math.log2(levels[0]), math.log2(levels[-1])
    span = (hi - lo) or 1.0

    def x_of(c):
        return x0 + (math.log2(c) - lo) / span * w if hi > lo else x0 + w / 2

    top = nice_ceiling(max((v for _, points in series for _, v in points), default=1) * 1.05)

    def y_of(v):
        return y0 + h - v / top * h

    for i in range(6):
        value = top * i / 5
        svg.line(x0, y_of(value), x0 + w, y_of(value), "#ddd")
        svg.text(x0 - 8, y_of(value) + 4, f"{value:,.0f}", anchor="end")
    for c in levels:
        svg.line(x_of(c), y0 + h, x_of(c), y0 + h + 5)
        svg.text(x_of(c), y0 + h + 20, c, anchor="middle")
    svg.line(x0, y0 + h, x0 + w, y0 + h)
    svg.line(x0, y0, x0, y0 + h)
    svg.text(x0 + w / 2, HEIGHT - 20, "requests in flight (closed loop)", anchor="middle")
    svg.text(20, y0 + h / 2, "sign-ins per second", anchor="middle", rotate=-90)
    legend = []
    for i, (name, points) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        xy = [(x_of(c), y_of(v)) for c, v in points]
        if len(xy) > 1:
            svg.polyline(xy, colour)
        for x, y in xy:
            svg.circle(x, y, colour)
        legend.append((name, colour))
    svg.legend(legend)
    svg.save(path)


def plot_latency(report, path):
    runs = [r for r in report["results"] if r["kind"] != "setup" and r["ok"] > 0]
    svg = Svg(f"Latency percentiles per run: {label(report)}")
    x0, y0, w, h = plot_area()
    values = [r[key] for r in runs for key, _ in PERCENTILES if r[key] > 0]
    lo = 10 ** math.floor(math.log10(min(values, default=0.1)))
    hi = 10 ** math.ceil(math.log10(max(values, default=1)))
    if hi <= lo:
        hi = lo * 10

    def y_of(ms):
        ms = max(ms, lo)
        return y0 + h - (math.log10(ms) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * h

    decade = lo
    while decade <= hi * 1.0001:
        svg.line(x0, y_of(decade), x0 + w, y_of(decade), "#ddd")
        svg.text(x0 - 8, y_of(decade) + 4, f"{decade:g} ms", anchor="end")
        decade *= 10
    svg.line(x0, y0 + h, x0 + w, y0 + h)
    svg.line(x0, y0, x0, y0 + h)
    svg.text(20, y0 + h / 2, "latency (log scale)", anchor="middle", rotate=-90)
    group = w / max(len(runs), 1)
    bar = group * 0.8 / len(PERCENTILES)
    for i, run in enumerate(runs):
        gx = x0 + i * group + group * 0.1
        for j, (key, _) in enumerate(PERCENTILES):
            top = y_of(run[key])
            svg.rect(gx + j * bar, top, bar - 1, y0 + h - top, COLOURS[j])
        svg.text(gx + group * 0.4, y0 + h + 14, f"run {i + 1}", anchor="middle", size=10)
    svg.legend(
        [(name, COLOURS[j]) for j, (_, name) in enumerate(PERCENTILES)]
        + [("", "white")]
        + [(f"run {i + 1}: {short(r)}", "white") for i, r in enumerate(runs)]
    )
    svg.save(path)


def short(run):
    """A run's name shortened for the legend."""
    name = run["name"].replace("TAP sign-in, one-time, ", "TAP ").replace("sweep: ", "")
    if run.get("offered_per_second") is None and "in flight" not in name:
        name += f" @{run['concurrency']}"
    return name[:40]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out_dir, paths = argv[1], argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    reports = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            reports.append((os.path.splitext(os.path.basename(path))[0], json.load(f)))
    written = [os.path.join(out_dir, "throughput.svg")]
    plot_throughput([r for _, r in reports], written[0])
    for name, report in reports:
        written.append(os.path.join(out_dir, f"latency-{name}.svg"))
        plot_latency(report, written[-1])
    for path in written:
        print(path)


if __name__ == "__main__":
    main(sys.argv)
