"""Units and partition per town on dask vs the single machine (issue #9).

For 1x, 4x, 16x counties of a synthetic province (gridkit.synthetic_province;
per county on average 25,000 buildings, 5,000 road segments, 125 villages in
towns of 20, 50,000 entities; a dense city county and sparse rural ones),
each step in a fresh process so that peak memory is that step's own:

- ``units single``: gridkit.build_units (the reference; its units are saved
  for the partition steps);
- ``units dask``: gridkit.build_units_distributed, one task per town, on a
  2-worker ``distributed.LocalCluster`` (processes, one thread each; cluster
  start-up and the workers' import of gridkit timed apart);
- ``partition single``: gridkit.grids.partition of the reference units into
  ``k = 2 x villages`` grids on ``workload_min``;
- ``partition dask``: gridkit.partition_distributed of the same units, same k.

Equivalence: units count, total area and buildings/entities assigned against
the single machine, coverage valid; grids count and worst deviation.
Peak memory is ru_maxrss of the client process and of each worker.

    python benchmarks/bench_province.py [--factors 1,4,16] [--write FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

BASE = {"buildings": 25_000, "roads": 5_000, "villages": 125, "entities": 50_000}


def _data(factor: int, seed: int = 0):
    from gridkit.synthetic.province import synthetic_province

    return synthetic_province(seed, counties=factor,
                              **{f"{k}_per_county": v for k, v in BASE.items()})


def _warm_up() -> None:
    import gridkit.scale.pipeline  # noqa: F401


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cluster(out: dict):
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    client.run(_warm_up)  # workers import gridkit once; a long-running cluster pays it once
    out["startup_s"] = time.perf_counter() - t0
    return cluster, client


def _units_stats(res) -> dict:
    r = res.report
    return {"units": len(res.units), "area_m2": float(res.units.to_crs(res.crs).area.sum()),
            "buildings_assigned": r["buildings_assigned"],
            "entities_assigned": r["entities_assigned"], "coverage_valid": r["coverage_valid"],
            "area_error_m2": r["area_error_m2"], "area_tolerance_m2": r["area_tolerance_m2"]}


def _child(step: str, factor: int, workdir: str) -> dict:
    """One measured step, in this (fresh) process."""
    import geopandas as gpd

    from gridkit import build_units, partition
    from gridkit.scale.pipeline import build_units_distributed, partition_distributed

    warnings.simplefilter("ignore")
    out: dict = {}
    units_file = os.path.join(workdir, f"units_{factor}.parquet")
    cluster = client = None
    if step.endswith("dask"):
        cluster, client = _cluster(out)
    if step.startswith("units"):
        t0 = time.perf_counter()
        layers = _data(factor)
        out["gen_s"] = time.perf_counter() - t0
        args = (layers["roads"], layers["jurisdiction"])
        kw = {k: layers[k] for k in ("villages", "barriers", "buildings", "entities")}
        t0, c0 = time.perf_counter(), time.process_time()
        if step == "units single":
            res = build_units(*args, **kw)
        else:
            res = build_units_distributed(*args, scheduler=client, **kw)
            out["tasks"] = res.report["groups"]
            out["phases"] = res.report["seconds"]
        out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
        out.update(_units_stats(res))
        out["villages"] = len(layers["villages"])
        if step == "units single":
            res.units.to_parquet(units_file)
    else:
        units = gpd.read_parquet(units_file)
        k = 2 * units["village_code"].nunique()
        out["k"] = k
        t0, c0 = time.perf_counter(), time.process_time()
        if step == "partition single":
            res = partition(units, "workload_min", k=k)
        else:
            res = partition_distributed(units, "workload_min", k=k, scheduler=client)
            out["tasks"] = units["village_code"].str[:9].nunique()
        out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
        out.update(grids=len(res.grids), max_deviation=res.report.max_deviation,
                   max_over_mean=res.report.max_over_mean,
                   contiguous=bool(res.grids["contiguous"].all()), units=len(units))
    if client is not None:
        out["worker_peak_mb"] = sorted(round(v) for v in client.run(_peak_mb).values())
        client.close()
        cluster.close()
    out["peak_mb"] = _peak_mb()
    return out


def _run(step: str, factor: int, workdir: str) -> dict:
    cmd = [sys.executable, __file__, "--child", step, str(factor), workdir]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"step {step!r} at {factor}x failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _same_units(a: dict, b: dict) -> str:
    ok = (a["units"] == b["units"] and abs(a["area_m2"] - b["area_m2"]) <= a["area_tolerance_m2"]
          and a["buildings_assigned"] == b["buildings_assigned"]
          and a["entities_assigned"] == b["entities_assigned"] and b["coverage_valid"])
    return (f"{'same' if ok else 'DIFFERENT'}: units {b['units']} vs {a['units']}, area "
            f"{b['area_m2'] - a['area_m2']:+.2f} m², bld {b['buildings_assigned']} vs "
            f"{a['buildings_assigned']}, ent {b['entities_assigned']} vs "
            f"{a['entities_assigned']}, coverage valid {b['coverage_valid']}")


def _same_grids(a: dict, b: dict) -> str:
    ok = a["grids"] == b["grids"] and b["contiguous"]
    return (f"{'same k' if ok else 'DIFFERENT'}: grids {b['grids']} vs {a['grids']}, max dev "
            f"{b['max_deviation']:.1%} vs {a['max_deviation']:.1%}, contiguous {b['contiguous']}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", default="1,4,16")
    ap.add_argument("--write", help="also write the markdown results here")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        step, factor, workdir = args.child
        print(json.dumps(_child(step, int(factor), workdir)))
        return

    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for f in (int(x) for x in args.factors.split(",")):
            size = ", ".join(f"{v * f:,} {k}" for k, v in BASE.items())
            r = {s: _run(s, f, workdir) for s in ("units single", "units dask",
                                                   "partition single", "partition dask")}
            eq = {"units dask": _same_units(r["units single"], r["units dask"]),
                  "partition dask": _same_grids(r["partition single"], r["partition dask"])}
            for step, m in r.items():
                count = (f"{m['units']:,} units" if step.startswith("units")
                         else f"{m['grids']:,} grids (k={m['k']})")
                rows.append(
                    f"| {f}x: {size} | {step} | {m.get('tasks', '-')} | "
                    f"{m.get('startup_s', float('nan')):.1f} | {m['wall_s']:.2f} | "
                    f"{m['cpu_s']:.2f} | {m['peak_mb']:.0f} | "
                    f"{'+'.join(map(str, m.get('worker_peak_mb', []))) or '-'} | {count} | "
                    f"{eq.get(step, 'reference')} |")
                print(rows[-1], flush=True)
                if "phases" in m:
                    print(f"    phases: {m['phases']}", flush=True)
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    import geopandas
    import shapely

    head = ("| data | step | tasks | cluster start s | wall s | client cpu s | client peak MB | "
            "worker peak MB | result | vs single |\n|---|---|---|---|---|---|---|---|---|---|")
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    text = "\n".join([
        "# Province scale: units and partition per town on dask (issue #9)",
        "",
        f"Command: `python benchmarks/bench_province.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.platform()}, nproc {os.cpu_count()}; python "
        f"{platform.python_version()}, shapely {shapely.__version__} (GEOS "
        f"{shapely.geos_version_string}), geopandas {geopandas.__version__}",
        f"- free -g: `{free[1] if len(free) > 1 else ''}`",
        f"- uptime at start: `{up0}`",
        f"- uptime at end: `{up1}`",
        "",
        head,
        *rows,
        "",
    ])
    print(text)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
