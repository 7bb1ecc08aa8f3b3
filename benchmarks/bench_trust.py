"""Benchmark: gridkit's outputs against gridkit's own checks (issue #16).

Run from the repository root::

    python benchmarks/bench_trust.py
    python benchmarks/bench_trust.py --write benchmarks/results/trust.md

Four tables, every figure measured in this run:

1. Building integrity: the demo's flow on the bundled sample (units, split
   to a quarter of a grid's workload, 20 grids on workload with the roads'
   adjacency), then ``validate_coverage`` of the grids, written back to the
   sample's CRS, with every sample layer: buildings split. Peers: the same
   flow with the reshaping that keeps buildings whole turned off (what
   ``build_units`` did before), and, on villages that cut buildings (five
   straight strips across the sample), without and with ``fix_villages``.
2. Repair: ``repair_coverage`` against GEOS's ``coverage_clean`` alone, on
   libpysal's Tokyo municipalities (262 polygons with overlaps, gaps and
   mismatched edges) and on Tokyo with an outline simplified by 1 m: time,
   area moved, GEOS's ``coverage_is_valid``, invalid polygons, and what
   ``validate_coverage`` at the same tolerance still finds.
3. Reprojection: the same flow on inputs in degrees whose village
   boundaries are straight lines in degrees (the property-test generator),
   with ``to_crs`` densifying straight edges and without (plain
   vertex-by-vertex ``GeoDataFrame.to_crs``): issues validation reports that
   the inputs do not force.
4. Distributed = local: ``partition`` and ``partition_distributed`` (one task
   per town, the sample being one town, and one per village; synchronous
   scheduler) on the same sample units with the same options: worst deviation
   from the village target and share of grid borders on roads.
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "units"))

import gridkit.coverage.prepare as _prepare  # noqa: E402
import gridkit.coverage.validate as _validate  # noqa: E402
import gridkit.crs as gcrs  # noqa: E402
import gridkit.grids.partition as _partition  # noqa: E402
import gridkit.layers as _layers  # noqa: E402
import gridkit.units.adjacency as _adjacency  # noqa: E402
import gridkit.units.build as gbuild  # noqa: E402
from gridkit.cli.commands._demo import DEMO_GRIDS, DEMO_MAX_UNIT_SHARE  # noqa: E402
from gridkit.cli.commands.units import adjacency_for  # noqa: E402
from gridkit.coverage.repair import repair_coverage  # noqa: E402
from gridkit.coverage.validate import validate_coverage  # noqa: E402
from gridkit.errors import GridkitWarning  # noqa: E402
from gridkit.grids.partition import partition  # noqa: E402
from gridkit.io.sample import SAMPLE_LAYERS, sample_path  # noqa: E402
from gridkit.layers import load_layers  # noqa: E402
from gridkit.scale.pipeline import partition_distributed  # noqa: E402

#: The modules that reproject with gridkit.crs.to_crs (patched for the "before" column).
_REPROJECTING = (_layers, _prepare, _validate, gbuild, _partition, _adjacency)

GRIDS = DEMO_GRIDS
UNIT_SHARE = DEMO_MAX_UNIT_SHARE  # the demo's limit on a unit's workload (share of a grid)


def timed(fn, *args, **kwargs):
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - t, time.process_time() - c), out


def markdown(df: pd.DataFrame) -> str:
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


@contextmanager
def patched(module, name, value):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def _no_reshape(polys, village, buildings, b_unit):
    return polys, np.ones(len(polys), dtype=bool), 0


def _plain_to_crs(gdf, crs):  # vertex by vertex, as geopandas does
    if gdf is None:
        return None
    return gdf.copy() if gdf.crs == crs else gdf.to_crs(crs)


def _issues(report) -> str:
    found = [f"{k} {v}" for k, v in report.summary.items() if v]
    return ", ".join(found) or "none"


# --------------------------------------------------------------------------- 1. buildings
def sample_flow(villages=None, *, fix=False):
    """Units -> partition -> grids in the sample's CRS -> validation with every layer."""
    path = sample_path()
    layers = load_layers(**{n: f"{path}:{n}" for n in SAMPLE_LAYERS})
    kinds = {k: layers.get(k) for k in ("roads", "jurisdiction", "villages", "barriers",
                                       "buildings", "entities")}
    if villages is not None:
        kinds["villages"] = gcrs.to_crs(villages, layers.crs)
    opts = dict(villages=kinds["villages"], barriers=kinds["barriers"],
                buildings=kinds["buildings"], entities=kinds["entities"], fix_villages=fix)
    t0 = time.perf_counter()
    res = gbuild.build_units(kinds["roads"], kinds["jurisdiction"], **opts)
    limit = UNIT_SHARE * res.units["workload_min"].sum() / GRIDS
    res = gbuild.build_units(kinds["roads"], kinds["jurisdiction"], max_workload=limit, **opts)
    units_s = time.perf_counter() - t0
    adj = adjacency_for(res, {**kinds, "villages": res.report["villages_fixed"]
                              if fix and res.report["villages_fixed"] is not None
                              else kinds["villages"]})
    part = partition(res.units, "workload_min", k=GRIDS, adjacency=adj, road_weight=0.5)
    grids = gcrs.to_crs(part.grids, layers.input_crs)
    raw = {n: gpd.read_file(path, layer=n) for n in ("jurisdiction", "villages", "buildings",
                                                      "entities")}
    check_villages = raw["villages"] if villages is None else villages
    if fix and res.report["villages_fixed"] is not None:
        check_villages = res.report["villages_fixed"]
    report = validate_coverage(grids, jurisdiction=raw["jurisdiction"], villages=check_villages,
                               entities=raw["entities"], buildings=raw["buildings"],
                               id_column="grid_id")
    return res, part, report, units_s


def strips():
    """Five straight strips across the sample: village boundaries through its blocks."""
    j = gpd.read_file(sample_path(), layer="jurisdiction")
    x0, y0, x1, y1 = j.total_bounds
    xs = np.linspace(x0, x1, 6)
    return gpd.GeoDataFrame(
        {"code": [f"00009100100{i + 1}" for i in range(5)]},
        geometry=[box(a, y0, b, y1) for a, b in zip(xs[:-1], xs[1:], strict=True)], crs=j.crs)


def building_rows():
    rows = []
    cases = [("sample villages", "off (before)", None, False),
             ("sample villages", "on", None, False),
             ("5 straight strips", "on", strips(), False),
             ("5 straight strips", "on + fix_villages", strips(), True)]
    for villages_name, reshape, villages, fix in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridkitWarning)
            if reshape.startswith("off"):
                with patched(gbuild, "whole_buildings", _no_reshape):
                    res, part, report, secs = sample_flow(villages, fix=fix)
            else:
                res, part, report, secs = sample_flow(villages, fix=fix)
        conflicts = res.report["conflicts"]
        cut = sum(1 for c in conflicts if "outside the jurisdiction" not in c["villages"])
        rows.append({"villages": villages_name, "whole buildings": reshape,
                     "buildings cut by a village": cut,
                     "made whole": res.report["buildings_made_whole"],
                     "moved off a village line": len(res.report["villages_moved"]),
                     "units": len(res.units), "units s": round(secs, 2),
                     "building_split": report.summary.get("building_split", 0),
                     "all issues": _issues(report), "valid": report.valid,
                     "max deviation": f"{part.report.max_deviation:.1%}"})
    return rows


# --------------------------------------------------------------------------- 2. repair
def _moved(before: np.ndarray, after: np.ndarray) -> float:
    ok = np.array([a is not None and b is not None for a, b in zip(before, after, strict=True)])
    return float(shapely.area(shapely.symmetric_difference(
        shapely.make_valid(before[ok].astype(object)), after[ok].astype(object))).sum())


def repair_rows():
    from libpysal import examples

    tokyo = gpd.read_file(examples.get_path("tokyomet262.shp"))
    geoms = np.asarray(tokyo.geometry.values)
    outline = shapely.simplify(shapely.union_all(shapely.make_valid(geoms)), 1.0)
    jur = gpd.GeoDataFrame(geometry=[outline], crs=tokyo.crs)
    rows = []
    for data, j in (("Tokyo", None), ("Tokyo, outline simplified 1 m", jur)):
        for tol in (1.0, 2.0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, cleaned = timed(shapely.coverage_clean, shapely.make_valid(geoms),
                                   gap_width=tol)
                geos = tokyo.set_geometry(list(cleaned))
                check = validate_coverage(geos, jurisdiction=j, id_column="GEOCODE",
                                          tolerance=tol)
                rows.append({"data": data, "tolerance m": tol, "method": "GEOS coverage_clean",
                             "wall s": round(t[0], 2), "area moved m2": _moved(geos_in(geoms),
                                                                               cleaned),
                             "grids": int(sum(c is not None and not c.is_empty
                                              for c in cleaned)),
                             "GEOS valid": bool(shapely.coverage_is_valid(cleaned)),
                             "invalid polygons": int((~shapely.is_valid(cleaned)).sum()),
                             "validate finds": _issues(check)})
                t, res = timed(repair_coverage, tokyo, jurisdiction=j, id_column="GEOCODE",
                               tolerance=tol)
            out = np.asarray(res.grids.geometry.values)
            rows.append({"data": data, "tolerance m": tol, "method": "gridkit repair_coverage",
                         "wall s": round(t[0], 2), "area moved m2": _moved(geos_in(geoms), out),
                         "grids": len(res.grids),
                         "GEOS valid": bool(shapely.coverage_is_valid(out)),
                         "invalid polygons": int((~shapely.is_valid(out)).sum()),
                         "validate finds": _issues(res.report)})
    return rows


def geos_in(geoms):
    return np.asarray(geoms, dtype=object)


# --------------------------------------------------------------------------- 3. reprojection
def reprojection_rows(seeds: int):
    from test_trust_properties import _unforced, inputs

    rows = []
    for label, fn in (("densified (to_crs)", gcrs.to_crs), ("vertex by vertex", _plain_to_crs)):
        bad, kinds, t0 = 0, {}, time.perf_counter()
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            nv, nr, nb = int(rng.integers(2, 5)), int(rng.integers(3, 12)), 40
            road, jur, vill, blds = inputs(seed, geographic=True, villages=nv, roads=nr,
                                           buildings=nb)
            with warnings.catch_warnings(), ExitStack() as stack:
                warnings.simplefilter("ignore")
                for module in _REPROJECTING:
                    stack.enter_context(patched(module, "to_crs", fn))
                res = gbuild.build_units(road, jur, villages=vill, buildings=blds, min_area=50)
                grids = partition(res.units, "households", k=min(len(res.units), 2 * nv))
                report = validate_coverage(grids.grids, jurisdiction=jur, villages=vill,
                                           buildings=blds, id_column="grid_id")
            forced = {str(c["building"]) for c in res.report["conflicts"]}
            left = _unforced(report.issues, forced, jur)
            bad += int(len(left) > 0)
            for k in left["kind"]:
                kinds[k] = kinds.get(k, 0) + 1
        rows.append({"reprojection": label, "random districts (degrees)": seeds,
                     "with unforced issues": bad,
                     "unforced issues": ", ".join(f"{k} {v}" for k, v in kinds.items()) or "none",
                     "wall s": round(time.perf_counter() - t0, 1)})
    return rows


# --------------------------------------------------------------------------- 4. distributed
def distributed_rows():
    path = sample_path()
    layers = load_layers(**{n: f"{path}:{n}" for n in SAMPLE_LAYERS})
    kinds = {k: layers.get(k) for k in ("roads", "jurisdiction", "villages", "barriers",
                                       "buildings", "entities")}
    opts = dict(villages=kinds["villages"], barriers=kinds["barriers"],
                buildings=kinds["buildings"], entities=kinds["entities"])
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        res = gbuild.build_units(kinds["roads"], kinds["jurisdiction"], **opts)
        demo_limit = UNIT_SHARE * res.units["workload_min"].sum() / GRIDS
        for units_label, limit in ((f"demo ({demo_limit:.0f} min)", demo_limit),
                                   ("README (500 min)", 500.0)):
            res = gbuild.build_units(kinds["roads"], kinds["jurisdiction"], max_workload=limit,
                                     **opts)
            adj = adjacency_for(res, kinds)
            for options, kw in (("adjacency with roads, road_weight 0.5",
                                 dict(adjacency=adj, road_weight=0.5)),
                                ("defaults (no adjacency given)", {})):
                for method in ("partition", "distributed, by town (1 task)",
                               "distributed, by village (5 tasks)"):
                    if method == "partition":
                        t, p = timed(partition, res.units, "workload_min", k=GRIDS, **kw)
                    else:
                        by = "town" if "town" in method else "village"
                        t, p = timed(partition_distributed, res.units, "workload_min", k=GRIDS,
                                     by=by, scheduler="synchronous", **kw)
                    rows.append({"units split to": units_label, "options": options,
                                 "method": method, "grids": len(p.grids),
                                 "max deviation": f"{p.report.max_deviation:.2%}",
                                 "max/mean": round(p.report.max_over_mean, 3),
                                 "borders on roads": f"{p.report.road_share:.0%}",
                                 "contiguous": bool(p.grids["contiguous"].all()),
                                 "wall s": round(t[0], 2)})
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
    ap.add_argument("--seeds", type=int, default=20,
                    help="random districts for the reprojection table (default: %(default)s)")
    ap.add_argument("--write", metavar="MD", help="also write the tables into this markdown file")
    args = ap.parse_args(argv)
    head = machine()
    print(head)
    tables = []
    for title, fn in (
        ("1. Building integrity: the demo's flow on the sample, grids validated with every "
         "sample layer", building_rows),
        ("2. Repair: gridkit against GEOS coverage_clean alone (libpysal tokyomet262)",
         repair_rows),
        (f"3. Reprojection: {args.seeds} random districts in degrees (village boundaries "
         "straight in degrees), units -> partition -> validate", lambda: reprojection_rows(
             args.seeds)),
        ("4. Distributed = local: the sample's units, 20 grids on workload", distributed_rows),
    ):
        df = pd.DataFrame(fn())
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(f"\n{title}\n{df.to_string(index=False)}")
        tables.append((title, df))
    end = os.popen("uptime").read().strip()
    print("uptime at end:", end)
    if args.write:
        cmd = "python benchmarks/bench_trust.py " + " ".join(argv or sys.argv[1:])
        parts = ["# Trust benchmark: gridkit's outputs pass gridkit's checks (issue #16)\n",
                 f"Command: `{cmd}`\n", head, f"- uptime (load) at end: `{end}`\n"]
        for title, df in tables:
            parts.append(f"\n## {title}\n\n{markdown(df)}\n")
        Path(args.write).write_text("\n".join(parts), encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
