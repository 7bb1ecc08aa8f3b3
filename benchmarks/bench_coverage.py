"""Benchmark: coverage validation at scale, against its peers, plus fault injection.

Run from the repository root::

    python benchmarks/bench_coverage.py            # full: 100,000 grids, 1,000,000 points
    python benchmarks/bench_coverage.py --quick    # 10,000 grids, 100,000 points
    python benchmarks/bench_coverage.py --write benchmarks/results/coverage.md

Peers, in the same process and on the same data:

- ``gridkit``: :func:`gridkit.validate_coverage` with the jurisdiction and the
  entity points (every check that applies).
- ``GEOS alone``: ``shapely.coverage_is_valid`` / ``coverage_invalid_edges``
  (overlaps and mismatched edges only: no gap along the edge, no missing grid,
  no points).
- ``naive geopandas``: ``gpd.sjoin`` of the points on the grids, pairwise
  ``sjoin`` of the grids plus intersection areas for overlaps, and
  ``gpd.overlay(jurisdiction, grids, how="difference")`` for gaps. It is run at
  the small size only when the full size would take minutes (the table says).

The fault-injection table runs each fault of :mod:`gridkit.synthetic.faults`
on many random tessellations and counts a fault as found when an issue of the
right kind touches the injected place and names the right grids; anything
else reported is a false positive.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridkit import validate_coverage  # noqa: E402
from gridkit.synthetic.faults import (  # noqa: E402
    FAULT_KIND,
    FAULTS,
    inject,
    random_points,
    voronoi_grids,
)


def timed(fn, *args, **kwargs):
    """Wall and CPU seconds (CPU time is fairer on a loaded shared machine)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - t, time.process_time() - c), out


def row(data, method, t, result):
    return {"data": data, "method": method, "wall s": t[0], "cpu s": t[1], "result": result}


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""

    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def naive(grids, jur, points, label):
    """The usual geopandas recipe: three separate checks, each timed."""
    rows = []

    def points_check():
        joined = gpd.sjoin(
            points, grids[["grid_id", "geometry"]], how="left", predicate="intersects"
        )
        counts = joined.groupby(level=0)["grid_id"].count()
        return int((counts == 0).sum()), int((counts > 1).sum())

    t, (un, multi) = timed(points_check)
    rows.append(
        row(label, "naive: gpd.sjoin points -> grids", t, f"unassigned {un}, multiple {multi}")
    )

    def overlap_check():
        pairs = gpd.sjoin(
            grids[["grid_id", "geometry"]], grids[["grid_id", "geometry"]], predicate="intersects"
        )
        pairs = pairs[pairs["grid_id_left"] < pairs["grid_id_right"]]
        left = np.asarray(grids.geometry.loc[pairs.index].values)
        right = np.asarray(grids.set_index("grid_id").geometry.loc[pairs["grid_id_right"]].values)
        return int((shapely.area(shapely.intersection(left, right)) > 0).sum()), len(pairs)

    t, (ov, n) = timed(overlap_check)
    rows.append(
        row(
            label,
            "naive: sjoin grids x grids + intersection areas",
            t,
            f"{ov} overlapping of {n} touching pairs",
        )
    )

    def gap_check():
        gaps = gpd.overlay(jur, grids[["grid_id", "geometry"]], how="difference")
        return int(len(gaps.explode(index_parts=False))) if len(gaps) else 0

    t, n_gaps = timed(gap_check)
    rows.append(
        row(
            label,
            "naive: gpd.overlay(jurisdiction, grids, 'difference')",
            t,
            f"{n_gaps} gap polygons",
        )
    )
    total = (sum(r["wall s"] for r in rows), sum(r["cpu s"] for r in rows))
    rows.append(row(label, "naive geopandas total (no edge mismatch, no slivers)", total, "-"))
    return rows


def scale_rows(n_grids, n_points, *, with_naive, faults=True, seed=1):
    size = 30_000.0 * (n_grids / 100_000) ** 0.5
    grids, jur = voronoi_grids(n_grids, seed=seed, size=size)
    points = random_points(jur, n_points, seed=seed + 1)
    geoms = np.asarray(grids.geometry.values)
    rows = []
    label = f"{n_grids:,} grids, {n_points:,} points"
    t, report = timed(validate_coverage, grids, jurisdiction=jur, entities=points)
    rows.append(
        row(
            label + " (clean)",
            "gridkit validate_coverage (all checks)",
            t,
            f"valid={report.valid}, {len(report.issues)} issues",
        )
    )
    if faults:
        bad, ents = grids, points
        for k, fault in enumerate(
            [
                "overlap",
                "gap",
                "sliver_overlap",
                "sliver_gap",
                "extra_vertex",
                "deleted_grid",
                "cut_back",
                "point_outside",
            ]
        ):
            bad, ents, _ = inject(bad, jur, fault, seed=100 + k, entities=ents)
        t, report = timed(validate_coverage, bad, jurisdiction=jur, entities=ents)
        rows.append(
            row(
                label + " (8 faults)",
                "gridkit validate_coverage (all checks)",
                t,
                ", ".join(f"{k} {v}" for k, v in report.summary.items() if v),
            )
        )
    t, ok = timed(shapely.coverage_is_valid, geoms)
    rows.append(
        row(
            label + " (clean)",
            "GEOS coverage_is_valid alone",
            t,
            f"valid={ok} (no edge gaps, missing grids, points)",
        )
    )
    t, edges = timed(shapely.coverage_invalid_edges, geoms)
    rows.append(
        row(
            label + " (clean)",
            "GEOS coverage_invalid_edges alone",
            t,
            f"{int((~shapely.is_empty(edges)).sum())} grids flagged",
        )
    )
    if with_naive:
        rows += naive(grids, jur, points, label + " (clean)")
    return rows


def fault_table(trials: int, n_grids: int):
    rows = []
    for fault in FAULTS:
        found = fp = done = 0
        for seed in range(trials):
            grids, jur = voronoi_grids(n_grids, seed=seed)
            try:
                bad, ents, f = inject(grids, jur, fault, seed=seed)
            except RuntimeError:
                continue
            done += 1
            report = validate_coverage(bad, jurisdiction=jur, entities=ents if len(ents) else None)
            iss = report.issues
            hit = iss[
                (iss.kind == FAULT_KIND[fault])
                & np.array([shapely.distance(g, f.where) <= 1e-3 for g in iss.geometry], bool)
                & np.array([f.grids <= set(g) for g in iss.grids], bool)
            ]
            if len(hit):
                found += 1
            fp += len(iss) - min(len(hit), 1)
        rows.append(
            {
                "fault": fault,
                "kind": FAULT_KIND[fault],
                "found": found,
                "expected": done,
                "other issues (false positives)": fp,
            }
        )
    clean_fp = 0
    for seed in range(trials):
        grids, jur = voronoi_grids(n_grids, seed=seed)
        clean_fp += len(
            validate_coverage(
                grids, jurisdiction=jur, entities=random_points(jur, 500, seed=seed)
            ).issues
        )
    rows.append(
        {
            "fault": "none (clean coverage + 500 points)",
            "kind": "-",
            "found": "-",
            "expected": trials,
            "other issues (false positives)": clean_fp,
        }
    )
    return rows


def tokyo_rows():
    try:
        from libpysal import examples

        tokyo = gpd.read_file(examples.get_path("tokyomet262.shp"))
    except Exception as exc:  # pragma: no cover
        return [{"method": "tokyo", "result": f"not available: {exc}"}]
    geoms = shapely.make_valid(np.asarray(tokyo.geometry.values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, report = timed(validate_coverage, tokyo, id_column="GEOCODE")
    rows = [
        row(
            "tokyomet262",
            "gridkit validate_coverage",
            t,
            ", ".join(f"{k} {v}" for k, v in report.summary.items() if v)
            + f" ({report.slivers} of them slivers)",
        )
    ]
    t, ok = timed(shapely.coverage_is_valid, geoms)
    t2, edges = timed(shapely.coverage_invalid_edges, geoms)
    rows.append(
        row(
            "tokyomet262",
            "GEOS coverage_is_valid + invalid_edges",
            (t[0] + t2[0], t[1] + t2[1]),
            f"valid={ok}, {int((~shapely.is_empty(edges)).sum())} of 262 grids flagged "
            "(no kinds, areas or places)",
        )
    )
    return rows


def machine() -> str:
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except Exception:  # pragma: no cover
            return "?"

    return (
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- nproc: {sh('nproc')}; python {platform.python_version()}, shapely "
        f"{shapely.__version__} (GEOS {'.'.join(map(str, shapely.geos_version))}), geopandas "
        f"{gpd.__version__}\n- free -g: `{' '.join(sh('free -g').splitlines()[1].split())}`\n"
        f"- uptime (load) at start: `{sh('uptime')}`"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 100,000-grid run")
    ap.add_argument(
        "--naive-grids",
        type=int,
        default=2000,
        help="size at which the naive geopandas recipe runs (default: %(default)s)",
    )
    ap.add_argument("--trials", type=int, default=20, help="fault-injection trials per fault")
    ap.add_argument("--write", metavar="MD", help="also write the tables into this markdown file")
    args = ap.parse_args(argv)
    head = machine()
    print(head)
    tables = []
    small = pd.DataFrame(scale_rows(args.naive_grids, args.naive_grids * 10, with_naive=True))
    print(small.round(2).to_string(index=False))
    tables.append(
        (
            f"Scale: {args.naive_grids:,} grids, {args.naive_grids * 10:,} points (all peers; "
            "the naive recipe is too slow for more on this machine)",
            small,
        )
    )
    if not args.quick:
        full = pd.DataFrame(scale_rows(100_000, 1_000_000, with_naive=False))
        print(full.round(2).to_string(index=False))
        tables.append(("Scale: 100,000 grids, 1,000,000 points (target < 10 s)", full))
    ft = pd.DataFrame(fault_table(args.trials, 200))
    print(ft.to_string(index=False))
    tables.append((f"Fault injection: {args.trials} random 200-grid tessellations per fault", ft))
    tk = pd.DataFrame(tokyo_rows())
    print(tk.round(2).to_string(index=False))
    tables.append(("Real messy data: libpysal tokyomet262 (262 municipalities)", tk))
    end = os.popen("uptime").read().strip()
    print("uptime at end:", end)
    if args.write:
        cmd = "python benchmarks/bench_coverage.py " + " ".join(argv or sys.argv[1:])
        parts = [
            "# Coverage validation benchmark (issue #5)\n",
            f"Command: `{cmd}`\n",
            head,
            f"- uptime (load) at end: `{end}`\n",
        ]
        for title, df in tables:
            parts.append(f"\n## {title}\n\n{markdown(df)}\n")
        Path(args.write).write_text("\n".join(parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
