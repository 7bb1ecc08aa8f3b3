"""`gridkit diff`: review a boundary change (issue #5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridkit.cli.commands._common import add_source_options, plain, refuse_output_over_input
from gridkit.cli.commands._demo import DemoContext

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diff",
        help="review a boundary change: grids added/removed/reshaped, entities and staff affected",
        description="Compare OLD and NEW grids (matched by id): grids added, removed and reshaped "
        "(area gained and lost, from/to which grid), entities and buildings now in another grid, "
        "staff affected; -o writes the changed pieces, moved entities and buildings as layers.",
    )
    p.add_argument("old", metavar="OLD", help="grids before: PATH or PATH:LAYER")
    p.add_argument("new", metavar="NEW", help="grids after: PATH or PATH:LAYER")
    p.add_argument("--entities", metavar="E", help="entity points")
    p.add_argument("--buildings", metavar="B", help="building footprints or points")
    p.add_argument("--staff", metavar="S", help="staff table (name, phone, grid_id)")
    p.add_argument("--id-column", default="grid_id", help="grid id column (default: %(default)s)")
    p.add_argument("--crs", help="metric working CRS (default: chosen automatically)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("-o", "--output", metavar="CHANGES.gpkg",
                   help="write the change layers (grid_changes, entities_moved, "
                   "buildings_moved); a GeoPackage's other layers are kept")
    add_source_options(p)
    p.set_defaults(func=run, output_kind="layers")


_WRITES = ("grid_changes", "entities_moved", "buildings_moved")  # see _layers


def _layers(d):
    out = {"grid_changes": d.layer}
    if d.entities is not None and len(d.entities):
        out["entities_moved"] = d.entities
    if d.buildings is not None and len(d.buildings):
        out["buildings_moved"] = d.buildings
    return out


def run(args) -> int:
    from gridkit.coverage.diff import diff_grids
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, read_table, write_layers

    refuse_output_over_input(args.output, [args.old, args.new, args.entities, args.buildings,
                                           args.staff], writes=_WRITES)
    d = diff_grids(
        read_layer(args.old),
        read_layer(args.new),
        entities=read_layer(args.entities) if args.entities else None,
        buildings=read_layer(args.buildings) if args.buildings else None,
        staff=read_table(args.staff) if args.staff else None,
        id_column=args.id_column,
        crs=args.crs,
    )
    if args.output:
        with staged():
            write_layers(_layers(d), args.output)
    print(d.to_json() if args.format == "json" else plain(str(d)))
    return 0


def simulated_change(grids: gpd.GeoDataFrame, *, depth: float = 40.0) -> gpd.GeoDataFrame:
    """A copy of ``grids`` (metric CRS) where the longest shared border moved ``depth`` m.

    The land within ``depth`` of the border on one side goes to the other
    grid: a typical yearly adjustment, for the demo.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    geoms = np.asarray(grids.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="touches")
    best, pair = 0.0, None
    for i, j in zip(left, right, strict=False):
        if i < j:
            length = shapely.intersection(geoms[i].boundary, geoms[j].boundary).length
            if length > best:
                best, pair = length, (i, j)
    new = grids.copy()
    if pair is None:
        return new
    i, j = pair
    shared = shapely.intersection(geoms[i].boundary, geoms[j].boundary)
    piece = shapely.intersection(geoms[j], shapely.buffer(shared, depth))
    out = geoms.copy()
    out[i] = shapely.union(geoms[i], piece)
    out[j] = shapely.difference(geoms[j], piece)
    return new.set_geometry(gpd.GeoSeries(out, index=new.index, crs=grids.crs))


def demo_step(ctx: DemoContext) -> None:
    """Diff the grids (or villages) against a simulated boundary change."""
    from gridkit.coverage.diff import diff_grids
    from gridkit.io.files import write_layers

    grids = ctx.results.get("grids")
    id_column, what = "grid_id", "grids"
    if grids is None:
        grids, id_column, what = (
            ctx.layers["villages"],
            "code",
            "villages (no grids from partition)",
        )
    new = simulated_change(grids)
    d = diff_grids(
        grids,
        new,
        entities=ctx.layers.get("entities"),
        buildings=ctx.layers.get("buildings"),
        id_column=id_column,
    )
    ctx.results["diff"] = d
    layers = {k: v.to_crs(ctx.layers.input_crs) for k, v in _layers(d).items()}
    path = write_layers(layers, ctx.outdir / "grid_changes.gpkg")
    s = d.summary
    ctx.add(
        f"diff: {what} vs. a simulated 40 m border move: {s['reshaped']} reshaped, "
        f"{s['area_moved_m2']:,.0f} m² and {s['entities_moved']} entities changed grid",
        path,
    )
