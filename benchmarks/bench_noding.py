"""Benchmark: noding street grids against a runaway layer of lines crossing everywhere (issue #21).

    python benchmarks/bench_noding.py [--sizes 20000,200000] [--runaway 200000] [--seed 0]

Each case runs ``build_units`` in a fresh child process (so its peak memory is
its own, read from ``getrusage`` after it ends):

- ``street grid N``: ``gk.synthetic_county`` with N road segments (a real street
  pattern: few crossings per line), no buildings or entities, default options.
- ``runaway N``: N random segments across the same extent, each crossing hundreds
  of others (an unnoded or garbage layer). Before the crossing check, 50,000 such
  segments took 46 s and 1.0 GB, 200,000 ran past 300 s and 4.6 GB; now the
  layer is refused up front, in the time it takes to estimate its crossings.

Prints one table (wall seconds, peak RSS, units or the refusal) and writes
benchmarks/results/noding.md with machine, date, load and command.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _layers(kind: str, n: int, seed: int):
    import geopandas as gpd
    import numpy as np
    import shapely

    from gridkit.synthetic.county import synthetic_county

    county = synthetic_county(seed, buildings=0, roads=n, villages=max(1, n // 400), entities=0)
    if kind == "street":
        return county["roads"], county["jurisdiction"]
    x0, y0, x1, y1 = county["jurisdiction"].total_bounds
    rng = np.random.default_rng(seed)
    span = 0.05 * min(x1 - x0, y1 - y0)  # segments ~5% of the extent long: they cross a lot
    a = rng.uniform((x0, y0), (x1, y1), (n, 2))
    b = a + rng.uniform(-span, span, (n, 2))
    lines = gpd.GeoDataFrame(geometry=shapely.linestrings(np.stack([a, b], axis=1)),
                             crs=county["roads"].crs)
    return lines, county["jurisdiction"]


def child(kind: str, n: int, seed: int) -> None:
    import warnings

    from gridkit import build_units
    from gridkit.errors import UnitsError

    roads, jurisdiction = _layers(kind, n, seed)
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    try:
        outcome = f"{len(build_units(roads, jurisdiction).units):,} units"
    except UnitsError as exc:
        outcome = "refused: " + str(exc).split(" (")[0]
    print(f"{time.perf_counter() - t:.2f}\t{outcome}")


def run_case(kind: str, n: int, seed: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(n), str(seed)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"case {kind} {n} failed")
    peak = usage.ru_maxrss / 1024**2  # GB, of this child alone
    seconds, outcome = out.strip().splitlines()[-1].split("\t", 1)
    return {"case": f"{'street grid' if kind == 'street' else 'runaway'} {n:,}",
            "build_units_s": float(seconds), "process_s (with data generation)": wall,
            "peak_rss_gb": peak, "outcome": outcome}


def render(rows: list[dict], command: str) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in r.values()]
        lines.append("| " + " | ".join(cells) + " |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        "## Noding: street grids against a runaway layer (issue #21)", "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command: `{command}`.", "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cpus; load average after the run: "
        f"{load}. Each case is a fresh process; peak RSS is that process's own (`wait4`), data "
        "generation included.", "",
        *lines, "",
        "A street network has under one proper crossing per line (streets meet at "
        "junctions); the runaway layer has over a hundred, and `build_units` refuses it "
        "(`UnitsError`, `max_crossings=None` / `--max-crossings none` to node it anyway) "
        "after estimating its crossings on a sample of 1,000 lines.", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--runaway", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n, seed = args.child
        return child(kind, int(n), int(seed))
    cases = [("runaway", args.runaway)] + [("street", int(s)) for s in args.sizes.split(",")]
    rows = []
    for kind, n in sorted(cases, key=lambda c: c[1]):
        rows.append(run_case(kind, n, args.seed))
        print(rows[-1], flush=True)
    command = "python benchmarks/bench_noding.py " + " ".join(sys.argv[1:])
    text = render(rows, command.strip())
    print(text)
    (HERE / "results" / "noding.md").write_text(text)


if __name__ == "__main__":
    main()
