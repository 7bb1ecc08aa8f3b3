"""Scaling of coverage validation: single machine vs dask tiles (issue #9).

For 1x, 4x, 16x a base size (Voronoi grids + uniform entity points, three
faults injected, deterministic from the seed) it runs, each in a fresh
process so that peak memory is that step's own:

- ``single``: gridkit.validate_coverage (the reference);
- ``dask``: gridkit.validate_coverage_distributed on a 2-worker
  ``distributed.LocalCluster`` (cluster start-up and the workers' import
  of gridkit timed apart), tiles of
  about ``--per-tile`` grids.

and checks that both report the same issues (kinds, grids, x/y to 1 µm).
Peak memory is ru_maxrss of the process (and, for dask, of each worker).

    python benchmarks/bench_scale.py [--base 5000] [--points 10] [--write FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def _data(n_grids: int, n_points: int, seed: int = 0):
    from gridkit._coverage_synth import inject, random_points, voronoi_grids

    size = 100.0 * math.sqrt(n_grids)  # ~1 ha grids, like the coverage benchmark
    grids, jur = voronoi_grids(n_grids, seed=seed, size=size)
    ents = random_points(jur, n_points, seed=seed)
    for k, fault in enumerate(("overlap", "gap", "deleted_grid", "point_on_two")):
        grids, ents, _ = inject(grids, jur, fault, seed=seed + k, entities=ents)
    return grids, jur, ents


def _key(report):
    def num(v):
        return None if v != v else round(float(v), 6)

    return sorted(
        [r.kind, sorted(r.grids), num(r.x), num(r.y), r.feature or ""]
        for r in report.issues.itertuples()
    )


def _warm_up() -> None:
    import gridkit.distributed  # noqa: F401


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(step: str, n_grids: int, n_points: int, per_tile: int) -> dict:
    """One measured step, in this (fresh) process."""
    t0 = time.perf_counter()
    grids, jur, ents = _data(n_grids, n_points)
    out = {"gen_s": time.perf_counter() - t0}
    if step == "single":
        from gridkit import validate_coverage

        t0, c0 = time.perf_counter(), time.process_time()
        rep = validate_coverage(grids, jurisdiction=jur, entities=ents)
        out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    else:
        from distributed import Client, LocalCluster

        from gridkit.distributed import validate_coverage_distributed

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        # workers import gridkit once (~1-3 s); a long-running cluster pays it once
        client.run(_warm_up)
        out["startup_s"] = time.perf_counter() - t0
        side = max(2, round(math.sqrt(n_grids / per_tile)))
        t0, c0 = time.perf_counter(), time.process_time()
        rep = validate_coverage_distributed(
            grids, jurisdiction=jur, entities=ents, tiles=side, scheduler=client
        )
        out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
        out["tiles"] = f"{side}x{side}"
        peaks = client.run(_peak_mb)
        out["worker_peak_mb"] = sorted(round(v) for v in peaks.values())
        client.close()
        cluster.close()
    out["peak_mb"] = _peak_mb()
    out["issues"] = dict((k, v) for k, v in rep.summary.items() if v)
    out["key"] = _key(rep)
    return out


def _run(step, n_grids, n_points, per_tile) -> dict:
    cmd = [sys.executable, __file__, "--child", step, str(n_grids), str(n_points), str(per_tile)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=5000, help="grids at 1x")
    ap.add_argument("--points", type=int, default=10, help="entity points per grid")
    ap.add_argument("--factors", default="1,4,16")
    ap.add_argument("--per-tile", type=int, default=5000, help="about this many grids per tile")
    ap.add_argument("--write", help="also write the markdown results here")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        step, n, p, per = args.child
        print(json.dumps(_child(step, int(n), int(p), int(per))))
        return

    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = []
    for f in (int(x) for x in args.factors.split(",")):
        n, p = args.base * f, args.base * f * args.points
        single = _run("single", n, p, args.per_tile)
        dist = _run("dask", n, p, args.per_tile)
        same = single["key"] == dist["key"]
        for name, r in (
            ("single: validate_coverage", single),
            ("dask: 2-worker LocalCluster", dist),
        ):
            rows.append(
                f"| {f}x: {n:,} grids, {p:,} points | {name} | {r.get('tiles', '-')} | "
                f"{r['gen_s']:.1f} | {r.get('startup_s', float('nan')):.1f} | {r['wall_s']:.2f} | "
                f"{r['cpu_s']:.2f} | {r['peak_mb']:.0f} | "
                f"{'+'.join(map(str, r.get('worker_peak_mb', []))) or '-'} | "
                f"{r['issues']} | {'same' if same else 'DIFFERENT'} |"
            )
            print(rows[-1], flush=True)
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    import geopandas
    import shapely

    head = (
        "| data | step | tiles | generate s | cluster start s | validate wall s | "
        "client cpu s | client peak MB | worker peak MB | issues | vs single |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    text = "\n".join(
        [
            "# Province scale: coverage validation on dask (issue #9)",
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
        ]
    )
    print(text)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
