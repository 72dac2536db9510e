#!/usr/bin/python3
"""Turn the raw measurements run.sh collects into markdown tables.

    report.py RAW.tsv META.txt

RAW.tsv lines: size <TAB> tool <TAB> metric <TAB> value, where metric is
  n    processes seen by that tool's scan
  t    microseconds per scan (ps: per whole command)
  s    syscalls per scan (ps: per whole command)
  i    user-space instructions per scan (ps: per whole command)
META.txt is copied verbatim above the tables. Output goes to stdout.
"""
import collections
import sys

TOOLS = [
    ("plain", "plain C loop (open+read+close status)"),
    ("mw_cold", "memwatch.processes(), cold (1st scan)"),
    ("mw_warm", "memwatch.processes(), warm (pread)"),
    ("mw_oneshot", "memwatch one-shot (whole command, 1 scan)"),
    ("lua_cold", "lua5.4 + module, cold"),
    ("lua_warm", "lua5.4 + module, warm"),
    ("ps", "ps -eo pid,rss,comm (whole command)"),
    ("psutil_cold", "psutil process_iter, cold (1st scan)"),
    ("psutil_warm", "psutil process_iter, warm"),
    ("psutil_oneshot", "psutil one-shot (whole python3 command)"),
]
NAMES = dict(TOOLS)


def load(path):
    data = collections.defaultdict(dict)
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        size, tool, metric, value = parts
        try:
            data[(int(size), tool)][metric] = float(value)
        except ValueError:
            pass
    return data


def per_proc(data, size, tool, metric):
    d = data.get((size, tool), {})
    if metric not in d or not d.get("n"):
        return None
    return d[metric] / d["n"]


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, digits)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fx(v):
    return "n/a" if v is None else "{:.2f}x".format(v)


def slope(points):
    """Least-squares slope of value against process count (marginal cost)."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    if den == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den


def main():
    data = load(sys.argv[1])
    out = [open(sys.argv[2]).read().rstrip("\n"), ""]
    sizes = sorted({k[0] for k in data})

    for size in sizes:
        nseen = data.get((size, "plain"), {}).get("n")
        out.append("### About {} processes (the plain loop saw {})".format(
            size, int(nseen) if nseen else "?"))
        out.append("")
        out.append("| tool | µs/process | syscalls/process | user instructions/process "
                   "| time vs plain | ÷ memwatch cold | ÷ memwatch warm | ÷ memwatch one-shot |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        plain_t = per_proc(data, size, "plain", "t")
        mwc = per_proc(data, size, "mw_cold", "t")
        mww = per_proc(data, size, "mw_warm", "t")
        mw1 = per_proc(data, size, "mw_oneshot", "t")
        for tool, name in TOOLS:
            t = per_proc(data, size, tool, "t")
            if t is None and per_proc(data, size, tool, "s") is None:
                continue
            own = tool.startswith("mw_") or tool == "plain"
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                name, fmt(t, 2), fmt(per_proc(data, size, tool, "s"), 2),
                fmt(per_proc(data, size, tool, "i"), 0),
                fx(ratio(t, plain_t)),
                "" if own else fx(ratio(t, mwc)),
                "" if own else fx(ratio(t, mww)),
                "" if own else fx(ratio(t, mw1))))
        out.append("")

    # Targets at each size.
    out.append("### Targets")
    out.append("")
    out.append("| processes | memwatch cold ÷ plain | memwatch warm ÷ plain | (target ≤ 1.5x) "
               "| ps ÷ memwatch one-shot | ps ÷ memwatch cold | psutil cold ÷ memwatch cold "
               "| psutil warm ÷ memwatch warm | (target ≥ 3x) |")
    out.append("|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for size in sizes:
        g = lambda tool: per_proc(data, size, tool, "t")  # noqa: E731
        c, w = ratio(g("mw_cold"), g("plain")), ratio(g("mw_warm"), g("plain"))
        p0 = ratio(g("ps"), g("mw_oneshot"))
        p1, p2, p3 = (ratio(g("ps"), g("mw_cold")), ratio(g("psutil_cold"), g("mw_cold")),
                      ratio(g("psutil_warm"), g("mw_warm")))
        ok1 = "met" if c is not None and w is not None and max(c, w) <= 1.5 else (
            "warm only" if w is not None and w <= 1.5 else "missed")
        vals = [v for v in (p0, p1, p2, p3) if v is not None]
        ok2 = "met" if vals and min(vals) >= 3 else (
            "warm only" if p3 is not None and p3 >= 3 else "missed")
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            size, fx(c), fx(w), ok1, fx(p0), fx(p1), fx(p2), fx(p3), ok2))
    out.append("")

    # Marginal cost: the slope across sizes removes fixed start-up cost, which
    # matters for ps (a whole command) and at 100 processes.
    if len(sizes) >= 2:
        out.append("### Marginal cost per process (least-squares slope over {} sizes; "
                   "start-up removed)".format(len(sizes)))
        out.append("")
        out.append("| tool | µs/process | syscalls/process | user instructions/process |")
        out.append("|---|---:|---:|---:|")
        for tool, name in TOOLS:
            row = []
            for metric in ("t", "s", "i"):
                pts = [(data[(s, tool)]["n"], data[(s, tool)][metric]) for s in sizes
                       if metric in data.get((s, tool), {}) and "n" in data[(s, tool)]]
                row.append(slope(pts))
            if all(v is None for v in row):
                continue
            out.append("| {} | {} | {} | {} |".format(name, fmt(row[0], 2), fmt(row[1], 2),
                                                      fmt(row[2], 0)))
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
