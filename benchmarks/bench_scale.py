"""Province scale on dask: coverage validation and assignment, 1x / 4x / 16x (issue #9).

Data: gridkit.synthetic.faults.nested_grids, a province-like coverage (grids
nested in villages, towns, counties; 15-digit grid codes) with entity points,
and faults injected ON the dask tiles' seams (an overlap, a gap, a deleted
grid, a grid coded to another village, a point on two grids, a point outside).
The largest case is 450,000 grids and 10,000,000 entity points, as the
issue asks. Every step runs in a fresh process, so that peak memory
(ru_maxrss) is that step's own:

- ``generate``: build the data and write it as GeoParquet (entities as a
  directory of 500,000-row files, in generation order: every file spans the
  whole province, the worst case for the workers);
- ``single``: gridkit.validate_coverage on the layers read into memory
  (the reference);
- ``dask``: gridkit.validate_coverage_distributed on a 2-worker
  ``distributed.LocalCluster`` (1 thread each; start-up timed apart), the
  workers reading the entity files themselves;
- with ``--with-sort``, ``shard``: gridkit.write_spatial_parquet of those
  files on the cluster (Hilbert sort, a dask shuffle), so that each file
  covers a compact area, and ``dask_sorted``: the same validation from the
  sorted files;
- ``assign``: gridkit.assign_to_grids_distributed of the (sorted) files to
  their grids, written back as GeoParquet by the workers.

and checks that single and both dask runs report the same issues (kind, grids, x/y to
1 µm, area, feature, detail).

    python benchmarks/bench_scale.py [--base 28125] [--points 22.2] [--factors 1,4,16]
        [--with-sort] [--write benchmarks/results/scale.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

FAULTS = ("overlap", "gap", "deleted_grid", "point_on_two", "point_outside")
STEPS = ("generate", "single", "dask", "assign")
SORTED_STEPS = ("generate", "single", "dask", "shard", "dask_sorted", "assign")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _seam_faults(grids, jur, ents, tiles: int):
    """Inject FAULTS where a tile seam of the dask run crosses the fault."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from gridkit.synthetic.faults import inject

    x0, y0, x1, y1 = jur.total_bounds
    xs = [x0 + k * (x1 - x0) / tiles for k in range(1, tiles)]
    seam = shapely.union_all([shapely.LineString([(x, y0), (x, y1)]) for x in xs])
    rng = np.random.default_rng(5)
    for n, fault in enumerate(FAULTS):
        # the 300 grids nearest a point on a seam: inject works on them only (fast
        # at any size)
        x = xs[n % len(xs)]
        y = y0 + (y1 - y0) * rng.uniform(0.2, 0.8)
        c = shapely.get_coordinates(shapely.centroid(grids.geometry.values))
        pos = np.sort(np.argsort(np.hypot(c[:, 0] - x, c[:, 1] - y))[:300])
        sub = grids.iloc[pos]
        sub_jur = jur.set_geometry([shapely.box(*sub.total_bounds)], crs=jur.crs)
        inside = ents.sindex.query(shapely.box(*sub.total_bounds), predicate="contains")
        for seed in range(200):
            g2, e2, f = inject(sub, sub_jur, fault, seed=seed, entities=ents.iloc[inside])
            if f.where is not None and shapely.intersects(f.where, seam):
                break
        grids = pd.concat([grids.drop(index=sub.index), g2]).sort_index()
        extra = e2.iloc[len(inside):]
        if len(extra):
            m = len(extra)
            extra = gpd.GeoDataFrame(
                {"entity_id": np.arange(len(ents), len(ents) + m), "risk": np.full(m, 3, "int8"),
                 "credit": pd.Categorical(["A"] * m, categories=["A", "B", "C"])},
                geometry=extra.geometry.values, crs=ents.crs)
            ents = pd.concat([ents, extra], ignore_index=True)
    # a grid coded to a village it does not lie in
    k = len(grids) // 2
    grids.loc[k, "village_code"] = grids["village_code"].iloc[0]
    return grids, ents


def _paths(workdir):
    return {k: os.path.join(workdir, f"{k}.parquet") for k in ("grids", "villages", "jur")} | {
        "entities": os.path.join(workdir, "entities"),
        "sorted": os.path.join(workdir, "entities_sorted"),
    }


def _read(workdir, entities=True):
    import geopandas as gpd

    p = _paths(workdir)
    out = {k: gpd.read_parquet(p[k]) for k in ("grids", "villages", "jur")}
    if entities:
        out["entities"] = gpd.read_parquet(p["entities"])
    return out


def _key(report):
    def num(v):
        return None if v is None or v != v else round(float(v), 6)

    return sorted(
        [r.kind, sorted(r.grids), num(r.x), num(r.y), num(r.area), r.feature or "", r.detail]
        for r in report.issues.itertuples()
    )


def _cluster():
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster)
    client.run(lambda: __import__("gridkit.scale.coverage"))  # workers import gridkit once
    return cluster, client, time.perf_counter() - t0


def _close(cluster, client) -> list[int]:
    """Close the cluster; returns the workers' peak memory (MB)."""
    peaks = sorted(round(v) for v in client.run(_peak_mb).values())
    client.close()
    cluster.close()
    return peaks


def _child(step: str, workdir: str, n_grids: int, n_points: int, tiles: int) -> dict:
    """One measured step, in this (fresh) process."""
    out: dict = {}
    if step == "generate":
        import pyarrow.parquet as pq

        from gridkit.synthetic.faults import nested_grids

        t0 = time.perf_counter()
        grids, villages, jur, ents = nested_grids(n_grids, entities=n_points, seed=1)
        grids, ents = _seam_faults(grids, jur, ents, tiles)
        out["wall_s"] = time.perf_counter() - t0
        p = _paths(workdir)
        grids.to_parquet(p["grids"])
        villages.to_parquet(p["villages"])
        jur.to_parquet(p["jur"])
        os.makedirs(p["entities"])
        for i, start in enumerate(range(0, len(ents), 500_000)):
            part = ents.iloc[start : start + 500_000]
            part.to_parquet(os.path.join(p["entities"], f"part.{i:03d}.parquet"))
        out["write_s"] = time.perf_counter() - t0 - out["wall_s"]
        out["files"] = len(os.listdir(p["entities"]))
        out["rows"] = sum(pq.ParquetFile(os.path.join(p["entities"], f)).metadata.num_rows
                          for f in os.listdir(p["entities"]))
        out["grids"], out["villages"] = len(grids), len(villages)
    elif step == "single":
        from gridkit import validate_coverage

        t0 = time.perf_counter()
        d = _read(workdir)
        out["read_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = validate_coverage(d["grids"], jurisdiction=d["jur"], villages=d["villages"],
                                entities=d["entities"])
        out["wall_s"] = time.perf_counter() - t0
        out["issues"] = {k: v for k, v in rep.summary.items() if v}
        out["key"] = _key(rep)
    elif step == "shard":
        from gridkit import write_spatial_parquet

        cluster, client, out["startup_s"] = _cluster()
        t0 = time.perf_counter()
        write_spatial_parquet(_paths(workdir)["entities"], _paths(workdir)["sorted"],
                              scheduler=client)
        out["wall_s"] = time.perf_counter() - t0
        out["worker_peak_mb"] = _close(cluster, client)
        out["files"] = len(os.listdir(_paths(workdir)["sorted"]))
    elif step in ("dask", "dask_sorted"):
        from gridkit.scale.coverage import validate_coverage_distributed

        cluster, client, out["startup_s"] = _cluster()
        t0 = time.perf_counter()
        d = _read(workdir, entities=False)
        out["read_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = validate_coverage_distributed(
            d["grids"], jurisdiction=d["jur"], villages=d["villages"],
            entities=_paths(workdir)["entities" if step == "dask" else "sorted"], tiles=tiles,
            scheduler=client,
        )
        out["wall_s"] = time.perf_counter() - t0
        out["worker_peak_mb"] = _close(cluster, client)
        out["issues"] = {k: v for k, v in rep.summary.items() if v}
        out["key"] = _key(rep)
    elif step == "assign":
        import pyarrow.parquet as pq

        from gridkit.scale.coverage import assign_to_grids_distributed

        cluster, client, out["startup_s"] = _cluster()
        t0 = time.perf_counter()
        d = _read(workdir, entities=False)
        out["read_s"] = time.perf_counter() - t0
        target = os.path.join(workdir, "assigned")
        t0 = time.perf_counter()
        src = _paths(workdir)["sorted"]
        if not os.path.isdir(src):
            src = _paths(workdir)["entities"]
        assign_to_grids_distributed(src, d["grids"], tiles=tiles,
                                    out=target, scheduler=client)
        out["wall_s"] = time.perf_counter() - t0
        out["worker_peak_mb"] = _close(cluster, client)
        table = pq.read_table(target, columns=["grid_id"])
        out["assigned"] = int(table.num_rows - table.column("grid_id").null_count)
        out["rows"] = table.num_rows
    out["peak_mb"] = _peak_mb()
    return out


def _run(step, workdir, n, p, tiles) -> dict:
    cmd = [sys.executable, __file__, "--child", step, workdir, str(n), str(p), str(tiles)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise RuntimeError(f"{step} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt(x, nd=1):
    return "-" if x is None else f"{x:,.{nd}f}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=28_125, help="grids at 1x (16x: 450,000)")
    ap.add_argument("--points", type=float, default=10_000_000 / 450_000,
                    help="entity points per grid (default: 10 M at 450,000 grids)")
    ap.add_argument("--factors", default="1,4,16")
    ap.add_argument("--per-tile", type=int, default=10_000, help="about this many grids per tile")
    ap.add_argument("--with-sort", action="store_true",
                    help="also sort the entity files (write_spatial_parquet on dask) and "
                    "validate and assign from the sorted files")
    ap.add_argument("--write", help="also write the markdown results here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        step, workdir, n, p, tiles = args.child
        print(json.dumps(_child(step, workdir, int(n), int(p), int(tiles))))
        return

    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows, verdicts = [], []
    for f in (int(x) for x in args.factors.split(",")):
        n, p = args.base * f, round(args.base * f * args.points)
        tiles = max(2, round((n / args.per_tile) ** 0.5))
        workdir = tempfile.mkdtemp(prefix=f"gridkit-scale-{f}x-")
        try:
            res = {s: _run(s, workdir, n, p, tiles)
                   for s in (SORTED_STEPS if args.with_sort else STEPS)}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        same = all(res["single"]["key"] == res[k]["key"] for k in ("dask", "dask_sorted")
                   if k in res)
        data = f"{f}x: {res['generate']['grids']:,} grids, {res['generate']['rows']:,} points"
        labels = {
            "generate": "generate + write GeoParquet",
            "single": "validate_coverage (1 process)",
            "dask": f"validate_coverage_distributed ({tiles}x{tiles} tiles), files as generated",
            "shard": "write_spatial_parquet on dask (Hilbert sort of the files)",
            "dask_sorted": f"validate_coverage_distributed ({tiles}x{tiles} tiles), sorted files",
            "assign": "assign_to_grids_distributed" + (", sorted files" if args.with_sort else ""),
        }
        for step, r in res.items():
            what = ""
            if step in ("single", "dask", "dask_sorted"):
                what = str(r["issues"]) + ("" if step == "single" else
                                           ("; same as single" if same else "; DIFFERENT"))
            elif step == "assign":
                what = f"{r['assigned']:,} of {r['rows']:,} in a grid"
            elif step == "generate":
                what = f"{res['generate']['files']} entity files; write {r['write_s']:.0f} s"
            elif step == "shard":
                what = f"{r['files']} files"
            rows.append(
                f"| {data} | {labels[step]} | {_fmt(r.get('read_s'))} | "
                f"{_fmt(r.get('startup_s'))} | {_fmt(r['wall_s'])} | {_fmt(r['peak_mb'], 0)} | "
                f"{'+'.join(map(str, r.get('worker_peak_mb', []))) or '-'} | {what} |"
            )
            print(rows[-1], flush=True)
        verdicts.append((f, same, res))
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    import geopandas
    import shapely

    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    head = (
        "| data | step | read s | cluster start s | wall s | process peak MB | "
        "worker peak MB | result |\n|---|---|---|---|---|---|---|---|"
    )
    big = verdicts[-1][2]
    best = min((k for k in ("dask", "dask_sorted") if k in big), key=lambda k: big[k]["wall_s"])
    total_peak = big[best]["peak_mb"] + sum(big[best].get("worker_peak_mb", []))
    text = "\n".join(
        [
            "# Province scale: validation and assignment on dask (issue #9)",
            "",
            f"Command: `python benchmarks/bench_scale.py {' '.join(argv or sys.argv[1:])}`",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- nproc: {os.cpu_count()}; python {platform.python_version()}, shapely "
            f"{shapely.__version__} (GEOS {shapely.geos_version_string}), geopandas "
            f"{geopandas.__version__}",
            f"- free -g: `{free[1] if len(free) > 1 else ''}`",
            f"- uptime at start: `{up0}`",
            f"- uptime at end: `{up1}`",
            "",
            head,
            *rows,
            "",
            f"Largest case, dask ({best}): validated in {big[best]['wall_s']:.0f} s "
            f"(+{big[best]['read_s']:.0f} s reading grids, {big[best]['startup_s']:.0f} s "
            f"cluster start); peak memory client + workers {total_peak / 1024:.1f} GB. "
            f"Same issues as the single process at every size: "
            f"{all(s for _, s, _ in verdicts)}.",
            "",
        ]
    )
    print(text)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
