"""`gridkit partition`: group units into balanced, contiguous grids nested in villages."""

from __future__ import annotations

import argparse
import contextlib
import logging
import warnings

from gridkit.cli.commands._common import (
    add_crs_option,
    add_distributed_options,
    add_output_option,
    back_to_input_crs,
    distributed_requested,
    parse_weight,
    plain,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import DEMO_GRIDS, DemoContext
from gridkit.errors import InvalidValueError

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "partition",
        help="group units into k balanced, contiguous grids that never cross a village",
        description="Group basic units into grids of equal weight (entities, households, "
        "workload minutes or a weighted sum): exactly the number asked for, every grid "
        "contiguous and inside one village. Writes the layers `grids` (dissolved, with weight, "
        "unit count and shape measures) and `assignment` (the units plus grid_id).",
    )
    p.add_argument("--units", required=True, metavar="SOURCE", help="units layer, PATH[:LAYER]")
    p.add_argument("--weight", required=True, metavar="COL",
                   help="column to balance, or a weighted sum such as 'entities_risk1*3+entities'")
    count = p.add_mutually_exclusive_group()
    count.add_argument("--grids", type=int, metavar="K", help="number of grids (in all)")
    count.add_argument("--target", type=float, metavar="W", help="weight per grid")
    count.add_argument("--capacity", type=float, metavar="MIN",
                       help="most weight per grid (e.g. staff minutes per month)")
    p.add_argument("--per-village", action="store_true", help="K grids in every village")
    p.add_argument("--nest-by", default="village_code", metavar="COL",
                   help="column of the level grids must not cross (default: %(default)s; "
                   "'none' to ignore)")
    p.add_argument("--existing", metavar="COL",
                   help="column of current grid ids: rebalance, moving as few units as possible")
    p.add_argument("--fixed", metavar="COL",
                   help="with --existing: column of grid ids for units that must stay where "
                   "they are (empty: free to move)")
    p.add_argument("--exact", choices=("auto", "yes", "no"), default="auto",
                   help="exact polish by integer programme (HiGHS): auto (small village parts, "
                   "bounded work, deterministic), yes (up to 1,000 units, time-limited, "
                   "reports the gap), no (default: %(default)s)")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="seconds the exact polish may take in all (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--tolerance", type=float, default=0.02,
                   help="allowed deviation from the target weight (default: %(default)s)")
    p.add_argument("--id-column", default="unit_id", help="unit id column (default: %(default)s)")
    p.add_argument("--roads", metavar="SOURCE",
                   help="roads layer: prefer grid borders along roads (see --road-weight)")
    p.add_argument("--road-weight", type=float, default=0.5,
                   help="with --roads: 0..1, how much cheaper a border on a road is "
                   "(default: %(default)s)")
    add_distributed_options(p)
    add_crs_option(p)
    add_output_option(p)
    p.set_defaults(func=run)


@contextlib.contextmanager
def report_warnings_printed():
    """Drop partition's one-line digest of ``report.warnings``: they are printed in full."""
    from gridkit.errors import GridkitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if not (issubclass(w.category, GridkitWarning)
                and "see result.report.warnings" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def run(args: argparse.Namespace) -> int:
    from gridkit.grids.partition import partition
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_layers
    from gridkit.layers import load_layers
    from gridkit.units.adjacency import unit_adjacency

    weight = parse_weight(args.weight)
    refuse_output_over_input(args.output, [args.units, args.roads], writes=("grids", "assignment"))
    layers = load_layers(units=args.units, roads=args.roads, crs=args.crs, strict=args.strict)
    units = layers["units"]
    adjacency = None
    road_weight = None
    if args.roads:
        adjacency = unit_adjacency(units, id_column=args.id_column, roads=layers["roads"])
        road_weight = args.road_weight
    nest_by = None if str(args.nest_by).lower() == "none" else args.nest_by
    options = dict(k=args.grids, target=args.target, capacity=args.capacity,
                   per_village=args.per_village, nest_by=nest_by, existing=args.existing,
                   seed=args.seed, tolerance=args.tolerance, adjacency=adjacency,
                   road_weight=road_weight, id_column=args.id_column, fixed=args.fixed,
                   exact={"auto": "auto", "yes": True, "no": False}[args.exact],
                   time_limit=args.time_limit)
    with report_warnings_printed():
        if distributed_requested(args):
            from gridkit.scale.pipeline import partition_distributed

            if nest_by is None:
                raise InvalidValueError("--distributed splits the work by --nest-by: it cannot "
                                        "be 'none'")
            result = partition_distributed(units, weight, by=args.by,
                                           scheduler=args.scheduler, **options)
        else:
            result = partition(units, weight, **options)
    with staged():
        path = write_layers({"grids": back_to_input_crs(result.grids, layers),
                             "assignment": back_to_input_crs(result.assignment, layers)},
                            args.output)
    print(plain(result.report.summary()))
    print(f"wrote {path} (layers grids, assignment)")
    return 0


def demo_step(ctx: DemoContext) -> None:
    """Partition the demo's units into DEMO_GRIDS grids balanced on workload (or entities)."""
    from gridkit.grids.partition import partition
    from gridkit.io.files import write_layers
    from gridkit.units.adjacency import unit_adjacency

    units = ctx.results.get("units")
    if units is None:
        ctx.add("partition: skipped (no units: the `units` step did not run)")
        return
    weight = next((c for c in ("workload_min", "entities", "households") if c in units.columns),
                  None)
    if weight is None or "village_code" not in units.columns:
        ctx.add("partition: skipped (units carry no weight column or no village_code)")
        return
    villages = units["village_code"].nunique()
    k = max(villages, min(DEMO_GRIDS, len(units)))
    adjacency = ctx.results.get("adjacency")
    if adjacency is None or "road_m" not in getattr(adjacency, "columns", ()):
        adjacency = unit_adjacency(units, roads=ctx.layers.get("roads"),
                                   villages=ctx.layers.get("villages"))
    with report_warnings_printed():
        result = partition(units, weight, k=k, adjacency=adjacency, road_weight=0.5)
    ctx.results["grids"] = result.grids
    ctx.results["assignment"] = result.assignment
    ctx.results["partition_report"] = result.report
    path = write_layers({"grids": back_to_input_crs(result.grids, ctx.layers),
                         "assignment": back_to_input_crs(result.assignment, ctx.layers)},
                        ctx.outdir / "grids.gpkg")
    r = result.report
    ctx.add(f"partition: {len(units)} units -> {r.k} grids on {weight!r}, max/mean "
            f"{r.max_over_mean:.2f}, worst deviation from village target {r.max_deviation:.1%}, "
            f"mean Polsby-Popper {r.mean_polsby_popper:.2f}", path)
    for message in r.warnings:
        ctx.add(f"  warning: {plain(message)}")
