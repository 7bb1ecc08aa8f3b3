"""Benchmark: time and peak memory of the synthetic province generator (issue #9).

Each case runs in its own process (peak RSS is per process):

- ``synthetic_county``: the county generator alone at that size (the baseline);
- ``1 county``: the province generator with one county of the mean size of the
  big case;
- ``16 counties``: 16 counties, 5,000,000 buildings and 10,000,000 entities
  in total (the issue's province scale), 640,000 road segments, 4,000 villages.

Run from the worktree root::

    python benchmarks/bench_synthetic.py            # both cases
    python benchmarks/bench_synthetic.py --scale 0.1  # a quick check

No outside peer generates such layers; the county generator at the same
size is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

CASES = {
    "synthetic_county": dict(generator="county", buildings=312_500, entities=625_000,
                             roads=40_000, villages=250),
    "1 county": dict(counties=1, buildings_per_county=312_500, entities_per_county=625_000,
                     roads_per_county=40_000, villages_per_county=250),
    "16 counties": dict(counties=16, buildings_per_county=312_500, entities_per_county=625_000,
                        roads_per_county=40_000, villages_per_county=250),
}
SCALED = ("buildings_per_county", "entities_per_county", "roads_per_county",
          "villages_per_county", "buildings", "entities", "roads", "villages")


def run_one(sizes: dict, seed: int) -> dict:
    from gridkit.synthetic.county import synthetic_county
    from gridkit.synthetic.province import synthetic_province

    generator = synthetic_county if sizes.pop("generator", "") == "county" else synthetic_province
    t = time.perf_counter()
    p = generator(seed, **sizes)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    return {"seconds": seconds, "peak_gb": peak, "counts": {k: len(v) for k, v in p.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the per-county sizes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: JSON sizes of one case
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.seed)))
        return
    print("| case | buildings | entities | roads | villages | towns | time (s) | peak RSS (GB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, sizes in CASES.items():
        sizes = {k: (max(int(v * args.scale), 12 if k.startswith("roads") else 1)
                     if k in SCALED else v) for k, v in sizes.items()}
        out = subprocess.run([sys.executable, __file__, "--seed", str(args.seed),
                              "--one", json.dumps(sizes)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        c = r["counts"]
        towns = f"{c['towns']:,}" if "towns" in c else "-"
        print(f"| {name} | {c['buildings']:,} | {c['entities']:,} | {c['roads']:,} | "
              f"{c['villages']:,} | {towns} | {r['seconds']:.1f} | {r['peak_gb']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
