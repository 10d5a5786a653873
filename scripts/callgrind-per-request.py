#!/usr/bin/env python3
"""Where the instructions of one request go: the difference between the N2 and N1 callgrind
profiles of scripts/bench-instructions.sh (KEEP_PROFILES=1), per function, divided by N2 - N1.
  scripts/callgrind-per-request.py build/callgrind/paid 1000 [--top 30] [--vs build/callgrind/plain]
With --vs, each function's figure is shown beside the other path's, and the table is sorted by
the difference (what this path adds over that one). --inclusive counts what each function
calls too; --grep keeps the functions whose name contains a text (e.g. l402)."""
import argparse
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+(.*?)(?: \[.*\])?$")


def costs_of(profile, inclusive):
    args = ["callgrind_annotate", "--threshold=100", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}"]
    out = subprocess.run(args + [profile],
                         capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m and "PROGRAM TOTALS" not in line:
            name = m.group(2).split(":", 1)[-1] if ":" in m.group(2) else m.group(2)
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_request(prefix, n, inclusive=False):
    big, small = costs_of(prefix + ".out", inclusive), costs_of(prefix + ".n1.out", inclusive)
    return {k: (big.get(k, 0) - small.get(k, 0)) / n for k in set(big) | set(small)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("n", type=int)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--vs")
    ap.add_argument("--inclusive", action="store_true", help="a function with everything it calls")
    ap.add_argument("--grep", help="only functions whose name contains this")
    a = ap.parse_args()
    mine = per_request(a.prefix, a.n, a.inclusive)
    other = per_request(a.vs, a.n, a.inclusive) if a.vs else {}
    if a.grep:
        mine = {k: v for k, v in mine.items() if a.grep in k}
    key = (lambda k: mine[k] - other.get(k, 0)) if a.vs else (lambda k: mine[k])
    rows = sorted(mine, key=key, reverse=True)[: a.top]
    total = sum(mine.values())
    print(f"{'per request':>12} {'vs' if a.vs else '':>10}  function   (total {total:.0f})")
    for k in rows:
        vs = f"{other.get(k, 0):10.0f}" if a.vs else " " * 10
        print(f"{mine[k]:12.0f} {vs}  {k[:150]}")


if __name__ == "__main__":
    sys.exit(main())
