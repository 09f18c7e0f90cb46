#!/usr/bin/env python3
"""Summarise bench/load.sh's results.tsv as a Markdown table.

Per (server, connections): the round with the median req/s gives req/s, p50 and
p99; peak RSS is the highest of the rounds. The endpoint/bare ratio is the median
over rounds of the endpoint's req/s divided by bare-axum's req/s in the same
round (the two runs are back to back, so they see the same machine load).
"server / wrk CPU %" is how much of its CPU each side used in the median round:
in a clean run one of them is near 100 %. "req per server CPU-s" divides req/s by
the server's CPU share — the cost per request, which other work on the machine
disturbs much less than req/s; its ratio is the last column.
"""
import csv
import statistics
import sys


def per_cpu(r: dict) -> float:
    """Requests per second of server CPU time."""
    return float(r["rps"]) / max(float(r["server_cpu"]), 1.0) * 100


def main(path: str) -> None:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    runs: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        runs.setdefault((r["server"], int(r["conns"])), []).append(r)
    rounds = max(len(v) for v in runs.values())
    print(f"Median of {rounds} round(s) per row; ratio = median over rounds of endpoint/bare req/s.")
    print()
    print("| server | conns | req/s | p50 ms | p99 ms | peak RSS MiB | non-2xx | server / wrk CPU % "
          "| req/s per round | endpoint/bare req/s | req per server CPU-s | endpoint/bare per CPU-s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for server, conns in sorted(runs, key=lambda k: (k[1], k[0] == "bare-axum", k[0] != "endpoint", k[0])):
        rs = runs[(server, conns)]
        med = sorted(rs, key=lambda r: float(r["rps"]))[(len(rs) - 1) // 2]
        ratio = cpu_ratio = ""
        if server.startswith("endpoint") and ("bare-axum", conns) in runs:
            bare = {b["rep"]: b for b in runs[("bare-axum", conns)]}
            pairs = [float(r["rps"]) / float(bare[r["rep"]]["rps"]) for r in rs if r["rep"] in bare]
            if pairs:
                ratio = f"{statistics.median(pairs):.3f}"
            cpu_pairs = [per_cpu(r) / per_cpu(bare[r["rep"]]) for r in rs if r["rep"] in bare]
            if cpu_pairs:
                cpu_ratio = f"{statistics.median(cpu_pairs):.3f}"
        each = ", ".join(f'{float(r["rps"]):,.0f}' for r in rs)
        print(
            f'| {server} | {conns} | {float(med["rps"]):,.0f} | {float(med["p50_ms"]):.3f} | '
            f'{float(med["p99_ms"]):.3f} | {max(float(r["peak_rss_mib"]) for r in rs):.1f} | '
            f'{sum(int(r["non2xx"]) for r in rs)} | {med.get("server_cpu", "?")} / {med.get("wrk_cpu", "?")} | '
            f'{each} | {ratio} | {statistics.median(per_cpu(r) for r in rs):,.0f} | {cpu_ratio} |'
        )
    variants = sorted({s for s, _ in runs if s.startswith("endpoint") and s != "endpoint"})
    if variants:
        print()
        print("Other endpoint variants against `endpoint` (memory dedup) in the same rounds: "
              "median over rounds of variant/endpoint.")
        print()
        print("| variant | conns | variant/endpoint req/s | per round | variant/endpoint per CPU-s |")
        print("| --- | ---: | ---: | --- | ---: |")
        for variant in variants:
            for conns in sorted({c for s, c in runs if s == variant}):
                base = {b["rep"]: b for b in runs.get(("endpoint", conns), [])}
                rs = [r for r in runs[(variant, conns)] if r["rep"] in base]
                if not rs:
                    continue
                pairs = [float(r["rps"]) / float(base[r["rep"]]["rps"]) for r in rs]
                cpu_pairs = [per_cpu(r) / per_cpu(base[r["rep"]]) for r in rs]
                print(f"| {variant} | {conns} | **{statistics.median(pairs):.3f}** | "
                      f"{', '.join(f'{p:.3f}' for p in pairs)} | {statistics.median(cpu_pairs):.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])
