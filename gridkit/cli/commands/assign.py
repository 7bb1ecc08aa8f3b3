"""`gridkit assign`: give every entity or building the id of its grid (issue #9)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from gridkit.cli.commands._common import (
    add_source_options,
    layer_file,
    refuse_folder_over_input,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import DEMO_GRIDS, DEMO_MAX_UNIT_SHARE, DemoContext
from gridkit.errors import GridkitWarning

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "assign",
        help="give every entity or building the id of its grid (on dask for a province)",
        description="Add the id of its grid to every feature: a footprint goes to the grid "
        "holding most of its area, a point to the grid containing it; features in no grid get "
        "an empty id. Runs partition by partition on dask: with --distributed on a local "
        "cluster, with --scheduler on an existing one, else in this process's threads. A "
        "GeoParquet input (a file or a directory of files) is read by the workers; with an "
        "output directory (no extension) the result is written there as GeoParquet, one file "
        "per partition.",
    )
    p.add_argument("features", metavar="FEATURES",
                   help="points or footprints: PATH or PATH:LAYER; a CSV/XLSX register is read "
                   "as points from its coordinate columns (see --coords, --x, --y)")
    p.add_argument("grids", metavar="GRIDS", help="grid polygons: PATH or PATH:LAYER")
    p.add_argument("--id-column", default="grid_id", help="the grids' id column (default grid_id)")
    p.add_argument("--column", help="name of the new column (default: the id column's name)")
    p.add_argument("--crs", help="metric working CRS (default: chosen automatically)")
    p.add_argument("--distributed", action="store_true",
                   help="run on a local dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler of an existing cluster (e.g. tcp://host:8786)")
    p.add_argument("-o", "--output", required=True,
                   help="output layer (GeoPackage, GeoParquet...) or, without an extension, a "
                   "directory of GeoParquet files; or postgresql://USER@HOST/DB?table=TABLE")
    add_source_options(p)
    p.set_defaults(func=run, output_kind="layers-or-folder")


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, write_layer
    from gridkit.io.formats import DATABASE_URL
    from gridkit.io.points import UNLOCATED
    from gridkit.scale.coverage import assign_to_grids_distributed
    from gridkit.scale.parquet import is_lazy

    scheduler = args.scheduler or (None if args.distributed else "threads")
    as_dir = not DATABASE_URL.match(args.output) and "." not in args.output.rsplit("/", 1)[-1]
    if as_dir:
        refuse_folder_over_input(args.output, [args.features, args.grids])
    else:
        refuse_output_over_input(args.output, [args.features, args.grids],
                                 writes=(layer_file(args.output).stem,))
    features = args.features if is_lazy(args.features) else read_layer(args.features)
    unlocated = [] if isinstance(features, str) else features.attrs.get(UNLOCATED, [])
    grids = read_layer(args.grids)
    result = assign_to_grids_distributed(
        features, grids, id_column=args.id_column, column=args.column, crs=args.crs,
        out=args.output if as_dir else None, scheduler=scheduler,
    )
    if as_dir:
        print(f"assigned features written to {result}/")
        return 0
    column = args.column or args.id_column
    with staged():
        path = write_layer(result, args.output)
    missing = int(result[column].isna().sum())
    print(f"{len(result)} feature(s), {len(result) - missing} in a grid, {missing} in none: "
          f"{path}")
    if unlocated:
        more = " ..." if len(unlocated) > 20 else ""
        print(f"{len(unlocated)} row(s) of {args.features} without usable coordinates, not "
              f"assigned: row(s) {', '.join(map(str, unlocated[:20]))}{more}")
    return 0


def demo_step(ctx: DemoContext) -> None:
    """Validate and assign on a 2-worker local dask cluster, as a province office would."""
    from gridkit.io.files import write_layer

    grids = ctx.results.get("grids")
    if grids is None:
        ctx.add("assign: skipped (no grids from the partition step)")
        return
    from distributed import Client, LocalCluster

    from gridkit.scale.coverage import assign_to_grids_distributed, validate_coverage_distributed
    from gridkit.scale.parquet import write_spatial_parquet

    layers = ctx.layers
    # the province workflow: entities as spatially sorted GeoParquet files that the
    # workers read themselves
    files = write_spatial_parquet(layers["entities"], ctx.outdir / "entities_parquet",
                                  rows_per_file=500, overwrite=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        report = validate_coverage_distributed(
            grids, jurisdiction=layers["jurisdiction"], villages=layers["villages"],
            entities=files, buildings=layers["buildings"], tiles=2, scheduler=client,
        )
        assigned = assign_to_grids_distributed(files, grids, tiles=2, scheduler=client)
        per_village = _units_per_village(ctx, client)
    path = write_layer(assigned.to_crs(layers.input_crs), ctx.outdir / "entities_assigned.gpkg")
    inside = int(assigned["grid_id"].notna().sum())
    single = ctx.results.get("coverage")
    if single is None:
        versus = "no single-process check to compare"
    else:
        same = sorted(map(tuple, single.issues[["kind", "x", "y"]].round(6).to_numpy())) == \
            sorted(map(tuple, report.issues[["kind", "x", "y"]].round(6).to_numpy()))
        versus = "the same as" if same else "DIFFERENT from"
        versus += " the single-process check"
    ctx.add(
        f"distributed (2-worker dask cluster, 2x2 tiles, entities read by the workers from "
        f"{len(list(Path(files).glob('*.parquet')))} GeoParquet files): {report.n_grids} grids "
        f"validated, {len(report.issues)} issue(s), {versus}; {inside} of {len(assigned)} "
        f"entities assigned to their grid{per_village}",
        Path(files), path,
    )


def _units_per_village(ctx: DemoContext, client) -> str:
    """Units and grids built village by village on the cluster, as for a province."""
    from gridkit.scale.pipeline import build_units_distributed, partition_distributed
    from gridkit.units.adjacency import unit_adjacency

    units = ctx.results.get("units")
    if units is None:
        return ""
    layers = ctx.layers
    # the units step's limit on a unit's workload (see commands/units.py)
    limit = DEMO_MAX_UNIT_SHARE * units["workload_min"].sum() / DEMO_GRIDS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        res = build_units_distributed(
            layers["roads"], layers["jurisdiction"], villages=layers["villages"],
            barriers=layers["barriers"], buildings=layers["buildings"],
            entities=layers["entities"], max_workload=limit, by="village", scheduler=client)
        # the same graph and options as the partition step: borders on roads cheaper
        adjacency = unit_adjacency(res.units, roads=layers["roads"], villages=layers["villages"])
        part = partition_distributed(res.units, "workload_min", k=len(ctx.results["grids"]),
                                     adjacency=adjacency, road_weight=0.5, by="village",
                                     scheduler=client)
    single = ctx.results.get("partition_report")
    versus = f" (one process: {single.max_deviation:.1%})" if single is not None else ""
    return (f"; village by village on the cluster: {len(res.units)} units (one process: "
            f"{len(units)}), {len(part.grids)} grids, worst deviation "
            f"{part.report.max_deviation:.1%}{versus}")
