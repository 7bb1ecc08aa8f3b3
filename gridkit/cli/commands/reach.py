"""`gridkit reach`: network distance from buildings or entities to the nearest facility."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gridkit.cli.commands._common import (
    add_crs_option,
    add_output_option,
    back_to_input_crs,
    frame_text,
    plain,
    refuse_output_over_input,
)
from gridkit.errors import CheckFailed, InvalidValueError

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd

log = logging.getLogger("gridkit.cli")

_WRITES = ("points", "facilities", "service_areas", "uncovered", "by_grid", "by_village",
           "new_sites")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reach",
        help="distance along the roads from every building or entity to its nearest facility; "
        "share within reach per grid and village; service areas; uncovered points",
        description="Snap buildings (or entities) and facilities onto the nearest street segment, "
        "search the road network from all facilities at once, and write each point with its "
        "distance and nearest facility, the share within reach per grid and per village, the "
        "service-area polygons and the uncovered points. Points farther than --snap-limit from "
        "every street are reported, not assigned. Sources are PATH or PATH:LAYER.",
    )
    p.add_argument("--facilities", required=True, help="facility points (PATH[:LAYER])")
    p.add_argument(
        "--where",
        metavar="COLUMN=V1,V2",
        help="keep only facilities whose COLUMN is one of the values "
        "(e.g. category=pharmacy when --facilities is the entities layer)",
    )
    p.add_argument("--roads", required=True, help="road lines")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--buildings", help="building footprints or points (optional `households`)")
    who.add_argument("--entities", help="entity points")
    p.add_argument(
        "--max-distance",
        type=float,
        metavar="M",
        help="reach budget along the streets in metres (door to facility)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        metavar="MIN",
        help="reach budget in minutes at --speed (instead of --max-distance)",
    )
    p.add_argument(
        "--speed",
        type=float,
        metavar="KMH",
        help="travel speed in km/h (5 walking, 30 driving): adds minutes",
    )
    p.add_argument(
        "--mode",
        choices=("walk", "drive"),
        default="walk",
        help="road graph mode: drive leaves out footways and follows one-way streets "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--snap-limit",
        type=float,
        default=100.0,
        metavar="M",
        help="points farther than this from every street are reported (default: %(default)s m)",
    )
    p.add_argument("--grids", help="grid polygons with `grid_id` (share within reach per grid)")
    p.add_argument("--villages", help="village polygons with `code` (share per village)")
    p.add_argument(
        "--min-share",
        type=float,
        metavar="S",
        help="exit with code 1 when less than this share (0-1) of the points is within reach",
    )
    p.add_argument(
        "--new-sites",
        metavar="P|all",
        help="also choose new facility sites among the road nodes: the P that bring the most "
        "households within reach (maximal covering), or 'all' for the fewest that reach every "
        "point (set covering); writes layer new_sites",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="S",
        help="solver time limit for --new-sites (default: %(default)s s; the gap is reported)",
    )
    p.add_argument("--map", metavar="HTML",
                   help="also write a web map of the service areas and the points (offline)")
    add_crs_option(p)
    add_output_option(
        p,
        help="output file: layers points, facilities, service_areas, uncovered, "
        "by_grid, by_village (GeoPackage unless the extension says otherwise)",
    )
    p.set_defaults(func=run)


def _where(gdf: gpd.GeoDataFrame, spec: str | None) -> gpd.GeoDataFrame:
    if not spec:
        return gdf
    column, values = _where_parts(spec)
    if column not in gdf.columns:
        raise InvalidValueError(
            f"--where: facilities have no column {column!r}; they have "
            f"{[c for c in gdf.columns if c != gdf.geometry.name]}"
        )
    keep = gdf[column].astype("string").isin([v.strip() for v in values.split(",")]).fillna(False)
    if not keep.any():
        raise InvalidValueError(
            f"--where {spec!r}: no facility matches; values in {column!r} are e.g. "
            f"{sorted(gdf[column].dropna().astype(str).unique())[:8]}"
        )
    return gdf[keep.to_numpy()]


def _where_parts(spec: str) -> tuple[str, str]:
    column, sep, values = spec.partition("=")
    if not sep or not column or not values:
        raise InvalidValueError(
            f"--where {spec!r}: write COLUMN=VALUE[,VALUE...], e.g. category=pharmacy"
        )
    return column, values


def _sites_wanted(text: str | None) -> int | None | bool:
    """``--new-sites``: ``False`` (none), ``None`` ('all') or the number of sites."""
    if not text:
        return False
    value = str(text).strip().lower()
    if value == "all":
        return None
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise InvalidValueError(f"--new-sites must be a positive number or 'all', got {text!r}")


def _check(args) -> None:
    """The options, checked before any file is read."""
    if args.where:
        _where_parts(args.where)
    _sites_wanted(args.new_sites)
    if args.max_distance is None and args.max_minutes is None:
        raise InvalidValueError(
            "give --max-distance M (metres) or --max-minutes MIN with --speed KMH"
        )


def _new_sites(args, points, fac, G, budget):
    from gridkit.reach.siting import site_facilities

    p = _sites_wanted(args.new_sites)
    if p is False:
        return None
    existing = fac if len(fac) else None
    return site_facilities(
        points,
        G,
        max_distance=budget,
        p=p,
        existing=existing,
        snap_limit=args.snap_limit,
        time_limit=args.time_limit,
    )


def _write_map(result, villages, html) -> None:
    from gridkit.publish.reach_maps import reach_map
    from gridkit.publish.webmap import save_map

    save_map(reach_map(result, villages=villages), html)


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_layers
    from gridkit.layers import load_layers
    from gridkit.reach.reach import network_reach, reach_graph

    _check(args)
    kind = "buildings" if args.buildings else "entities"
    refuse_output_over_input(args.output, [args.facilities, args.roads, args.buildings,
                                           args.entities, args.grids, args.villages],
                             writes=_WRITES, also=[args.map] if args.map else [])
    layers = load_layers(
        crs=args.crs,
        strict=args.strict,
        roads=args.roads,
        **{kind: args.buildings or args.entities},
        grids=args.grids,
        villages=args.villages,
    )
    # facilities may be any point layer (e.g. the entities): read them as facilities
    fac = load_layers(crs=layers.crs, strict=args.strict, facilities=args.facilities)["facilities"]
    fac = _where(fac, args.where)
    G = reach_graph(layers["roads"], crs=layers.crs, mode=args.mode)
    result = network_reach(
        layers[kind],
        fac,
        G,
        max_distance=args.max_distance,
        max_minutes=args.max_minutes,
        speed_kmh=args.speed,
        snap_limit=args.snap_limit,
        grids=layers.get("grids"),
        villages=layers.get("villages"),
    )
    out = {
        "points": result.points,
        "facilities": result.facilities,
        "service_areas": result.service_areas,
        "uncovered": result.uncovered,
    }
    if result.by_grid is not None:
        out["by_grid"] = result.by_grid
    if result.by_village is not None:
        out["by_village"] = result.by_village
    siting = _new_sites(args, layers[kind], fac, G, result.max_distance)
    if siting is not None:
        out["new_sites"] = siting.sites
    out = {k: back_to_input_crs(v, layers) for k, v in out.items() if len(v) or k == "points"}
    with staged():  # the layers and the map, or neither
        path = write_layers(out, args.output)
        if args.map:
            _write_map(result, layers.get("villages"), args.map)
    print(plain(str(result.summary)))
    if siting is not None:
        print(f"new sites: {plain(str(siting.summary))}")
    for name, table in (("per grid", result.by_grid), ("per village", result.by_village)):
        if table is not None:
            cols = [c for c in table.columns if c != table.geometry.name]
            print(f"\n{name}:\n{frame_text(table[cols].round(3))}")
    print(f"\nwritten: {path}" + (f", {args.map}" if args.map else ""))
    if args.min_share is not None and result.share < args.min_share:
        raise CheckFailed(
            f"only {result.share:.1%} of the points are within reach "
            f"(--min-share {args.min_share:.0%})"
        )
    return 0


def demo_step(ctx) -> None:
    """Reach of the sample buildings to pharmacies (500 m along the streets)."""
    import geopandas as gpd

    from gridkit.io.files import write_layers
    from gridkit.publish.webmap import save_map
    from gridkit.reach.reach import network_reach, reach_graph

    entities = ctx.layers.get("entities")
    buildings = ctx.layers.get("buildings")
    if entities is None or buildings is None or "category" not in entities.columns:
        ctx.add("reach: skipped (the sample has no buildings or entity categories)")
        return
    pharmacies = entities[entities["category"] == "pharmacy"]
    if pharmacies.empty:
        ctx.add("reach: skipped (no pharmacy among the entities)")
        return
    grids = ctx.results.get("grids")
    grids = getattr(grids, "grids", grids)
    if not (isinstance(grids, gpd.GeoDataFrame) and "grid_id" in grids.columns):
        grids = None
    G = ctx.results.get("road_graph")
    if G is None:
        G = reach_graph(ctx.layers["roads"], crs=ctx.layers.crs)
        ctx.results["road_graph"] = G
    result = network_reach(
        buildings,
        pharmacies,
        G,
        max_distance=500.0,
        speed_kmh=5.0,
        villages=ctx.layers.get("villages"),
        grids=grids,
    )
    ctx.results["reach"] = result
    out = {
        "points": result.points,
        "facilities": result.facilities,
        "service_areas": result.service_areas,
        "uncovered": result.uncovered,
    }
    if result.by_village is not None:
        out["by_village"] = result.by_village
    if result.by_grid is not None:
        out["by_grid"] = result.by_grid
    out = {k: back_to_input_crs(v, ctx.layers) for k, v in out.items() if len(v)}
    from gridkit.io.atomic import staged
    from gridkit.publish.reach_maps import reach_map

    html = ctx.outdir / "reach_map.html"
    with staged():
        path = write_layers(out, ctx.outdir / "reach.gpkg")
        save_map(reach_map(result, villages=ctx.layers.get("villages")), html)
    files = [path, html]
    euclid_ok = (result.points["euclidean_m"] <= result.max_distance).sum()
    ctx.add(
        f"reach: buildings to {len(pharmacies)} pharmacies within 500 m along the streets: "
        f"{result.summary}; a straight-line buffer would claim {int(euclid_ok)}",
        *files,
    )
