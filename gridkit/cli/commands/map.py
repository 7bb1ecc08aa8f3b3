"""`gridkit map`: one self-contained HTML web map of the grids (and per-grid maps)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gridkit.cli.commands._common import add_source_options, refuse_output_over_input
from gridkit.cli.commands._demo import DemoContext, published_grids
from gridkit.publish.options import TILES

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd

log = logging.getLogger("gridkit.cli")



def register(subparsers) -> None:
    p = subparsers.add_parser(
        "map",
        help="web map of the grids: one self-contained HTML file (and one map per grid)",
        description="Draw the grids (neighbours in different colours, labelled, with popups of "
        "their attributes and responsible persons) with optional layers, on OpenStreetMap, "
        "Tianditu or AMap tiles (shifted into GCJ-02), into ONE HTML file with every script "
        "inlined. Sources are PATH or PATH:LAYER.",
    )
    p.add_argument("--grids", required=True, help="grid polygons")
    for name, text in (
        ("villages", "village/community polygons"),
        ("roads", "road lines"),
        ("entities", "entity points (risk 1-3 colours them)"),
        ("routes", "patrol route lines"),
        ("issues", "validation issues"),
    ):
        p.add_argument(f"--{name}", help=text)
    p.add_argument("--staff", help="staff table (CSV/XLSX: name, phone, grid_id) for the popups")
    p.add_argument(
        "--tiles",
        default="osm",
        choices=[*TILES, "none"],
        help="base map (default: %(default)s; amap shifts geometries into GCJ-02; "
        "none: no base map, fully offline)",
    )
    p.add_argument("--tianditu-key", help="your Tianditu key (needed with --tiles tianditu)")
    p.add_argument(
        "--input-gcj02",
        action="store_true",
        help="the inputs are in GCJ-02 (digitised on AMap): shift them back to WGS84",
    )
    p.add_argument("--title", help="a title shown on the map")
    p.add_argument("--label", help="the grid column written on each grid (default grid_code)")
    p.add_argument(
        "--per-grid", metavar="DIR", help="also write one map per grid (网格示意图) here"
    )
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    add_source_options(p)
    p.set_defaults(func=run)


def _read(source: str | None) -> gpd.GeoDataFrame | None:
    from gridkit.io.files import read_layer

    return None if source is None else read_layer(source)


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, read_table
    from gridkit.publish.webmap import grid_map, save_map

    refuse_output_over_input(None, [args.grids, args.villages, args.roads, args.entities,
                                    args.routes, args.issues, args.staff], also=[args.output])
    grids = read_layer(args.grids)
    kwargs = dict(
        villages=_read(args.villages),
        roads=_read(args.roads),
        entities=_read(args.entities),
        routes=_read(args.routes),
        issues=_read(args.issues),
        staff=read_table(args.staff) if args.staff else None,
        tiles=None if args.tiles == "none" else args.tiles,
        tianditu_key=args.tianditu_key,
        input_gcj02=args.input_gcj02,
        label_column=args.label,
    )
    m = grid_map(grids, title=args.title, **kwargs)
    with staged():  # the map and the per-grid maps, or nothing
        path = save_map(m, args.output)
        paths = per_grid_maps(grids, args.per_grid, kwargs) if args.per_grid else None
    print(f"wrote {path} ({len(grids)} grids, {path.stat().st_size / 1024:.0f} kB, self-contained)")
    if paths is not None:
        print(f"wrote {len(paths)} per-grid maps into {args.per_grid}")
    return 0


def per_grid_maps(grids, folder, kwargs):
    """One map per grid; the staff table was already checked, for all grids, by the overview."""
    import warnings

    from gridkit.errors import GridkitWarning
    from gridkit.publish.webmap import write_grid_maps

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="staff: ", category=GridkitWarning)
        return write_grid_maps(grids, folder, **kwargs)


# --- demo ----------------------------------------------------------------------


def _issues(ctx: DemoContext):
    import geopandas as gpd

    for key in ("coverage", "validation", "report"):
        report = ctx.results.get(key)
        issues = getattr(report, "issues", None)
        if isinstance(issues, gpd.GeoDataFrame) and len(issues) and issues.crs is not None:
            return issues
    return None


def _routes(ctx: DemoContext):
    import geopandas as gpd

    for key in ("routes", "route"):
        routes = ctx.results.get(key)
        routes = getattr(routes, "routes", routes)
        if isinstance(routes, gpd.GeoDataFrame) and len(routes) and routes.crs is not None:
            lines = routes[routes.geom_type.isin(["LineString", "MultiLineString"])]
            return lines if len(lines) else None
    return None


def demo_step(ctx: DemoContext) -> None:
    from gridkit.publish.webmap import grid_map, save_map

    grids, source = published_grids(ctx)
    layers = ctx.layers
    kwargs = dict(
        villages=layers["villages"],
        roads=layers["roads"],
        entities=layers["entities"],
        routes=_routes(ctx),
        issues=_issues(ctx),
        staff=ctx.results["staff"],
        assignment=ctx.results.get("assignment"),
    )
    m = grid_map(grids, title="gridkit 示例 demo (central Helsinki, OSM)", **kwargs)
    path = save_map(m, Path(ctx.outdir) / "map.html")
    per_grid = per_grid_maps(grids, Path(ctx.outdir) / "grid_maps", kwargs)
    ctx.add(
        f"map: {len(grids)} grids ({source}) with codes {grids['grid_code'].min()}.."
        f"{grids['grid_code'].max()}, self-contained web map ({path.stat().st_size / 1024:.0f} kB) "
        f"and {len(per_grid)} per-grid maps; persons are FAKE demo staff "
        "(示例人员 NN, 000-0000-NNNN)",
        path,
        Path(ctx.outdir) / "grid_maps",
    )
