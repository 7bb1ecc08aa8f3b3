"""`gridkit units`: basic units from roads, barriers and villages, with their workload."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

from gridkit.cli.commands._common import (
    add_crs_option,
    add_distributed_options,
    add_output_option,
    check_text_file,
    distributed_requested,
    layer_sources,
    plain,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import DEMO_GRIDS, DEMO_MAX_UNIT_SHARE
from gridkit.errors import CheckFailed, GridkitWarning

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import pandas as pd

    from gridkit.units.build import UnitsResult

log = logging.getLogger("gridkit.cli")

#: gridkit.units.noding.MAX_CROSSINGS, mirrored (that module needs shapely; a test keeps them equal)
MAX_CROSSINGS = 20

_INPUTS = ("roads", "jurisdiction", "villages", "barriers", "buildings", "entities")
_WRITES = ("units", "adjacency", "buildings", "entities", "unassigned")  # see output_layers


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "units",
        help="cut the jurisdiction into basic units along roads, barriers and village "
        "boundaries; count buildings and entities; compute the workload per unit",
        description="Cut the jurisdiction into basic units (street blocks cut by roads, rivers "
        "and village boundaries), merge slivers, optionally split units that are too large or "
        "heavy, assign buildings and entities, and write the units with their counts and "
        "workload (minutes per month) plus their adjacency. Sources are PATH or PATH:LAYER.",
    )
    p.add_argument("--layers", metavar="FILE",
                   help="take every input not given below from the same-named layer of FILE "
                   "(roads, jurisdiction, villages, barriers, buildings, entities)")
    p.add_argument("--roads", help="road lines (optional: without roads the barriers and "
                   "village boundaries cut the units, e.g. the room walls of a floor plan)")
    p.add_argument("--jurisdiction", help="outline of the territory (required unless in --layers)")
    p.add_argument("--villages", help="village polygons with a unique `code`")
    p.add_argument("--barriers", help="rivers, railways: lines that cut units")
    p.add_argument("--buildings", help="building footprints (optional `households`)")
    p.add_argument("--entities", help="points with `risk` (1-3) and `credit` (A/B/C)")
    p.add_argument("--policy", help="inspection policy file (.toml or .csv; default: built in)")
    p.add_argument("--road-classes", metavar="A,B,...",
                   help="only roads of these `road_class` values cut units (all count for "
                   "street length)")
    p.add_argument("--cut-tunnels", action="store_true",
                   help="let roads flagged in a `tunnel` column cut units too")
    p.add_argument("--snap-tolerance", type=float, default=1.0, metavar="M",
                   help="join line ends this close to another line (default: %(default)s m)")
    p.add_argument("--min-area", type=float, default=100.0, metavar="M2",
                   help="merge units smaller than this (default: %(default)s m²)")
    p.add_argument("--min-width", type=float, default=3.0, metavar="M",
                   help="merge units narrower than this, as 2*area/perimeter "
                   "(default: %(default)s m)")
    p.add_argument("--max-area", type=float, metavar="M2", help="split units larger than this")
    p.add_argument("--max-workload", type=float, metavar="MIN",
                   help="split units with more work than this (minutes per month)")
    p.add_argument("--fix-villages", action="store_true",
                   help="where a village boundary cuts a building, move it around the building "
                   "(to the village holding most of it); writes the moved villages as layer "
                   "`villages` and lists what moved")
    p.add_argument("--no-adjacency", action="store_true", help="do not write the adjacency table")
    p.add_argument("--max-crossings", type=_crossings, default=MAX_CROSSINGS, metavar="N|none",
                   help="refuse line layers whose lines cross each other more than N times "
                   "each on average (not a road network; default: %(default)s); 'none' "
                   "turns the check off")
    add_distributed_options(p)
    add_crs_option(p)
    add_output_option(p, help="output file: layers units, adjacency, buildings, entities, "
                      "unassigned (GeoPackage unless the extension says otherwise)")
    p.set_defaults(func=run)



def _crossings(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    value = float(text)
    if not value > 0:
        raise ValueError(f"--max-crossings must be a positive number or 'none', got {text!r}")
    return value


def adjacency_for(result: UnitsResult, sources: dict) -> pd.DataFrame:
    """Unit adjacency with the shared length on roads, barriers and village boundaries."""
    import geopandas as gpd

    from gridkit.io.files import read_layer
    from gridkit.units.adjacency import unit_adjacency

    def get(name):
        value = sources.get(name)
        return value if isinstance(value, gpd.GeoDataFrame) or value is None else read_layer(value)

    return unit_adjacency(result.units, roads=get("roads"), barriers=get("barriers"),
                          villages=get("villages"))


def _check(result: UnitsResult) -> None:
    r = result.report
    if not r["coverage_valid"] or r["area_error_m2"] > r["area_tolerance_m2"]:
        raise CheckFailed(
            f"the units do not tile the jurisdiction (area error {r['area_error_m2']:.3g} m², "
            f"coverage valid: {r['coverage_valid']}); the file was written for inspection"
        )


def output_layers(result: UnitsResult, adjacency: pd.DataFrame | None) -> dict:
    layers: dict = {"units": result.units}
    if adjacency is not None:
        layers["adjacency"] = adjacency
    if result.buildings is not None:
        layers["buildings"] = result.buildings
    if result.entities is not None:
        layers["entities"] = result.entities
    if len(result.unassigned):
        layers["unassigned"] = result.unassigned
    if result.report.get("villages_fixed") is not None:
        layers["villages"] = result.report["villages_fixed"]
    return layers


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_layers
    from gridkit.units.build import build_units

    sources = layer_sources(args, _INPUTS, required=("jurisdiction",))
    writes = (*_WRITES, "villages") if args.fix_villages else _WRITES  # the moved villages
    refuse_output_over_input(args.output, [*sources.values(), args.policy], writes=writes)
    check_text_file(args.policy, "--policy")
    road_classes = None
    if args.road_classes:
        road_classes = [c.strip() for c in args.road_classes.split(",") if c.strip()]
    options = dict(
        villages=sources["villages"], barriers=sources["barriers"],
        buildings=sources["buildings"], entities=sources["entities"], policy=args.policy,
        road_classes=road_classes, snap_tolerance=args.snap_tolerance, min_area=args.min_area,
        min_width=args.min_width, max_area=args.max_area, max_workload=args.max_workload,
        cut_tunnels=args.cut_tunnels, crs=args.crs, strict=args.strict,
        max_crossings=args.max_crossings,
    )
    tasks = ""
    if args.fix_villages and sources["villages"] is None:
        raise ValueError("--fix-villages needs --villages")
    if distributed_requested(args):
        from gridkit.scale.pipeline import build_units_distributed

        if sources["villages"] is None:
            raise ValueError("--distributed needs --villages (the tasks are towns or villages)")
        moved = None
        if args.fix_villages:  # once, on the client: the tasks get villages that cut no building
            options["villages"], moved = _fixed_villages(sources, args.crs)
        result = build_units_distributed(sources["roads"], sources["jurisdiction"], by=args.by,
                                         scheduler=args.scheduler, **options)
        if moved is not None:
            result.report.update(villages_moved=moved.to_dict("records"),
                                 villages_fixed=options["villages"])
        tasks = f" ({result.report['groups']} {args.by} task(s) on dask)"
    else:
        result = build_units(sources["roads"], sources["jurisdiction"],
                             fix_villages=args.fix_villages, **options)
    if args.fix_villages:
        sources = {**sources, "villages": result.report["villages_fixed"]
                   if result.report.get("villages_fixed") is not None else sources["villages"]}
    adjacency = None if args.no_adjacency else adjacency_for(result, sources)
    with staged():
        path = write_layers(output_layers(result, adjacency), args.output)
    print(f"{plain(result.summary())}{tasks}")
    _print_conflicts(result.report)
    print(f"wrote {path}")
    _check(result)
    return 0


def _fixed_villages(sources: dict, crs):
    from gridkit.units.whole import villages_around_buildings

    if sources["buildings"] is None:
        return sources["villages"], None
    return villages_around_buildings(sources["villages"], sources["buildings"],
                                     jurisdiction=sources["jurisdiction"], crs=crs)


def _print_conflicts(report: dict) -> None:
    """What the buildings cut by village or jurisdiction boundaries became."""
    conflicts = report.get("conflicts") or []
    moved = report.get("villages_moved") or []
    if conflicts:
        print(f"{len(conflicts)} building(s) cut by a village or jurisdiction boundary "
              "(report conflicts)")
    for m in moved:
        print(plain(f"  building {m['building']}: {m['moved_m2']:.1f} m² moved from village "
                    f"{', '.join(m['from'])} to {m['to']}"))


def demo_step(ctx) -> None:
    """Units of the sample with the default options: ``units.gpkg`` in the demo folder."""
    from gridkit.io.files import write_layers
    from gridkit.units.build import build_units

    kinds = {k: ctx.layers.get(k) for k in _INPUTS}
    if kinds["roads"] is None or kinds["jurisdiction"] is None:
        ctx.add("units: skipped (the sample has no roads or jurisdiction layer)")
        return
    options = dict(villages=kinds["villages"], barriers=kinds["barriers"],
                   buildings=kinds["buildings"], entities=kinds["entities"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        result = build_units(kinds["roads"], kinds["jurisdiction"], **options)
        # a grid can only be balanced from units much lighter than it: split the
        # heavy ones so that none weighs more than a share of the demo's grid target
        limit = DEMO_MAX_UNIT_SHARE * result.units["workload_min"].sum() / DEMO_GRIDS
        if result.units["workload_min"].max() > limit:
            result = build_units(kinds["roads"], kinds["jurisdiction"], max_workload=limit,
                                 **options)
    adjacency = adjacency_for(result, kinds)
    ctx.results["units"] = result.units
    ctx.results["adjacency"] = adjacency
    ctx.results["units_result"] = result
    path = write_layers(
        {name: back(layer, ctx) for name, layer in output_layers(result, adjacency).items()},
        ctx.outdir / "units.gpkg")
    u = result.units
    ctx.add(f"units: {result.summary()}; workload {u['workload_min'].sum():,.0f} min/month "
            f"(visits {u['visit_min'].sum():,.0f}, patrol {u['patrol_min'].sum():,.0f})", path)


def back(layer, ctx):
    """Demo outputs go out in the sample's own CRS."""
    import geopandas as gpd

    from gridkit.crs import to_crs

    if isinstance(layer, gpd.GeoDataFrame):
        return to_crs(layer, ctx.layers.input_crs)
    return layer
