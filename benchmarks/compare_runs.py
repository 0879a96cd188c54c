#!/usr/bin/env python3
"""Compares repeated benchmarks/run.sh outputs of two builds (for example before and after a refactor).

    benchmarks/compare_runs.py --before b1.md b2.md b3.md --after a1.md a2.md a3.md

For every row of run.sh's two tables it prints our images/s over the runs of each build (median and min-max), the
after/before ratio of the medians, and whether the after median is at least 0.97 of the before median or inside the
before runs' own range; and the same for ours/PyTorch, which cancels much of a shared machine's load; then our peak memory per row.
"""
import argparse
import statistics


def rows(path):
    """{row name: (ours images/s, PyTorch images/s or None, ours peak MiB)} from one run.sh output."""
    found = {}
    table = 0
    for line in open(path):
        if line.startswith("| step ") or line.startswith("| 2 ranks"):
            table += 1
            continue
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if table == 1:
            found[cells[0]] = (float(cells[1]), float(cells[2]), float(cells[8]))
        elif table == 2:
            found["2 ranks: " + cells[0]] = (float(cells[2]), float(cells[6]) if cells[6] else None, float(cells[9]))
    return found


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    args = parser.parse_args()
    before = [rows(p) for p in args.before]
    after = [rows(p) for p in args.after]
    names = [n for n in before[0] if all(n in r for r in before + after)]
    print("| row | before img/s median (min-max) | after img/s median (min-max) | after/before | holds | "
          "ours/PyTorch before (min-max) | after (min-max) |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for name in names:
        b = summary([r[name][0] for r in before])
        a = summary([r[name][0] for r in after])
        ratio = a[0] / b[0]
        holds = "yes" if ratio >= 0.97 else ("in range" if b[1] <= a[0] <= b[2] else "NO")
        cells = [name, f"{b[0]:.2f} ({b[1]:.2f}-{b[2]:.2f})", f"{a[0]:.2f} ({a[1]:.2f}-{a[2]:.2f})", f"{ratio:.2f}",
                 holds]
        if all(r[name][1] for r in before + after):
            rb = summary([r[name][0] / r[name][1] for r in before])
            ra = summary([r[name][0] / r[name][1] for r in after])
            cells += [f"{rb[0]:.2f} ({rb[1]:.2f}-{rb[2]:.2f})", f"{ra[0]:.2f} ({ra[1]:.2f}-{ra[2]:.2f})"]
        else:
            cells += ["", ""]
        print("| " + " | ".join(cells) + " |")
    print()
    print("| row | before peak MiB (min-max) | after peak MiB (min-max) |")
    print("|---|---:|---:|")
    for name in names:
        b = summary([r[name][2] for r in before])
        a = summary([r[name][2] for r in after])
        print(f"| {name} | {b[0]:.0f} ({b[1]:.0f}-{b[2]:.0f}) | {a[0]:.0f} ({a[1]:.0f}-{a[2]:.0f}) |")


if __name__ == "__main__":
    main()
