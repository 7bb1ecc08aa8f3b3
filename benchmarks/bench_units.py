"""Benchmark: basic units and assignment for a county-sized synthetic input (issue #3).

    python benchmarks/bench_units.py [--seed 0] [--scale 1.0] [--no-peers]

Target: 100,000 buildings, 20,000 road segments, 500 villages, 200,000
entities in under 30 s and under 4 GB peak memory on a 2-core machine.
Prints the wall time of each step of ``build_units`` and the CPU time of the
whole (the fairer figure when other jobs share the cores), the peak resident memory
of the process (sampled every 20 ms), and, for the assignment step, the
geopandas idioms a user would otherwise write (``sjoin`` for the entities,
``overlay`` + largest piece for the buildings) on the same units.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd  # noqa: E402

from gridkit import build_units, unit_adjacency  # noqa: E402
from gridkit.errors import GridkitWarning  # noqa: E402
from gridkit.synthetic.county import synthetic_county  # noqa: E402
from gridkit.units.assign import assign_buildings, assign_points  # noqa: E402


class PeakRSS:
    """Peak resident set size (bytes) of this process while the block runs."""

    def __init__(self, interval: float = 0.02):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._proc = psutil.Process(os.getpid())

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def run_case(layers, label: str, **options) -> dict:
    with PeakRSS() as mem, warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        t0, c0 = time.perf_counter(), time.process_time()
        res = build_units(layers["roads"], layers["jurisdiction"], villages=layers["villages"],
                          barriers=layers["barriers"], buildings=layers["buildings"],
                          entities=layers["entities"], **options)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    r = res.report
    row = {"case": label, "total_s": round(total, 2), "cpu_s": round(cpu, 2),
           **{f"{k}_s": v for k, v in r["seconds"].items()},
           "peak_rss_gb": round(mem.peak / 1e9, 2), "units": r["units"],
           "split": r["units_split"], "over_limit": r["units_over_limit"],
           "slivers": r["slivers_merged"], "bld_straddling": r["buildings_straddling"],
           "area_error_m2": f"{r['area_error_m2']:.2g}", "coverage_valid": r["coverage_valid"],
           "bld_out": r["buildings_outside"], "ent_out": r["entities_outside"]}
    return row, res


def peers(layers, res) -> pd.DataFrame:
    """gridkit's assignment vs the geopandas idioms, on the same units."""
    units = res.units.to_crs(res.crs)
    b = layers["buildings"].to_crs(res.crs)
    e = layers["entities"].to_crs(res.crs)
    ug = np.asarray(units.geometry.values)
    rows = []
    t = time.perf_counter()
    e_unit = assign_points(ug, np.asarray(e.geometry.values))
    rows.append(("entities -> unit", "gridkit (STRtree, vectorised)", time.perf_counter() - t))
    t = time.perf_counter()
    j = gpd.sjoin(e[["geometry"]], units[["unit_id", "geometry"]], predicate="intersects")
    j = j[~j.index.duplicated()]
    rows.append(("entities -> unit", "geopandas sjoin", time.perf_counter() - t))
    same_e = (len(j) == int((e_unit >= 0).sum()))
    t = time.perf_counter()
    b_unit, _ = assign_buildings(ug, np.asarray(b.geometry.values))
    rows.append(("buildings -> unit (largest area)", "gridkit (STRtree, vectorised)",
                 time.perf_counter() - t))
    t = time.perf_counter()
    pieces = gpd.overlay(b[["geometry"]].reset_index(), units[["unit_id", "geometry"]],
                         how="intersection", keep_geom_type=True)
    pieces["a"] = pieces.area
    best = pieces.sort_values("a").drop_duplicates("index", keep="last")
    rows.append(("buildings -> unit (largest area)", "geopandas overlay + max",
                 time.perf_counter() - t))
    same_b = (len(best) == int((b_unit >= 0).sum()))
    out = pd.DataFrame(rows, columns=["step", "method", "seconds"]).round(2)
    out["same_count"] = [same_e, same_e, same_b, same_b]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1)")
    ap.add_argument("--no-peers", action="store_true", help="skip the geopandas comparison")
    args = ap.parse_args(argv)
    sizes = {k: int(v * args.scale) for k, v in
             dict(buildings=100_000, roads=20_000, villages=500, entities=200_000).items()}
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, "
          f"{psutil.virtual_memory().total / 1e9:.0f} GB; load {os.getloadavg()}")
    print(f"sizes: {sizes}, seed {args.seed}")
    t = time.perf_counter()
    layers = synthetic_county(args.seed, **sizes)
    print(f"synthetic_county: {time.perf_counter() - t:.2f} s")
    rows = []
    row, res = run_case(layers, "units + assignment (defaults)")
    rows.append(row)
    # split to about a tenth of a 50-unit grid: area 150,000 m², workload 3,000 min/month
    row, _ = run_case(layers, "with split (max_area=150000, max_workload=3000)",
                      max_area=150_000, max_workload=3_000)
    rows.append(row)
    t = time.perf_counter()
    adj = unit_adjacency(res.units, roads=layers["roads"], barriers=layers["barriers"],
                         villages=layers["villages"])
    adjacency_s = time.perf_counter() - t
    table = pd.DataFrame(rows).set_index("case").T
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.to_string())
        if not args.no_peers:
            print()
            print(peers(layers, res).to_string(index=False))
    print(f"\nunit_adjacency (the `adjacency` layer of `gridkit units`): {len(adj)} pairs "
          f"in {adjacency_s:.2f} s")
    print(f"load after: {os.getloadavg()}")
    ok = all(r["total_s"] < 30 and r["peak_rss_gb"] < 4 for r in rows[:1])
    print("target (< 30 s, < 4 GB for units + assignment):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
