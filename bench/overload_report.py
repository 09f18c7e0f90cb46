#!/usr/bin/env python3
"""Summarise bench/overload.sh's results.tsv: per round and as medians, the
2xx req/s at LOW and HIGH connections, their ratio (same round, back to back),
p99 of all answers, answers by status and client-side errors, against the goals
ratio >= 0.8, p99 <= 150 ms at HIGH, every non-2xx a 503, no timeouts."""
import csv
import statistics
import sys


def main(path: str, low: str, high: str) -> None:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    by = {(r["round"], r["conns"]): r for r in rows}
    rounds = sorted({r["round"] for r in rows}, key=int)
    print(f"| round | 2xx req/s @{low} | 2xx req/s @{high} | ratio | p99 ms @{low} | p99 ms @{high} "
          f"| max ms @{high} | 2xx / 503 / other @{high} | timeouts | socket errors | server CPU % @{high} | load avg |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    ratios, p99s = [], []
    bad_status = timeouts = 0
    for rd in rounds:
        lo, hi = by.get((rd, low)), by.get((rd, high))
        if not lo or not hi:
            continue
        ratio = float(hi["ok_rps"]) / max(float(lo["ok_rps"]), 1.0)
        ratios.append(ratio)
        p99s.append(float(hi["p99_ms"]))
        bad_status += int(lo["other"]) + int(hi["other"])
        timeouts += int(lo["timeouts"]) + int(hi["timeouts"])
        print(f'| {rd} | {float(lo["ok_rps"]):,.0f} | {float(hi["ok_rps"]):,.0f} | {ratio:.3f} | '
              f'{float(lo["p99_ms"]):.1f} | {float(hi["p99_ms"]):.1f} | {float(hi["max_ms"]):.1f} | '
              f'{int(hi["ok2xx"]):,} / {int(hi["s503"]):,} / {int(hi["other"]):,} | '
              f'{int(lo["timeouts"]) + int(hi["timeouts"])} | '
              f'{int(lo["socket_errors"]) + int(hi["socket_errors"])} | {hi["server_cpu"]} | {hi["loadavg"]} |')
    if not ratios:
        sys.exit("no complete round")
    ratio, p99 = statistics.median(ratios), statistics.median(p99s)
    print()
    print(f"median ratio {high}/{low} 2xx req/s: {ratio:.3f} (goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}); "
          f"median p99 @{high}: {p99:.1f} ms (goal <= 150: {'met' if p99 <= 150 else 'NOT met'}); "
          f"non-2xx other than 503: {bad_status}; client timeouts: {timeouts}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
