"""`gridkit route`: street patrol tours (Chinese postman) or site-visit rounds per grid."""

from __future__ import annotations

import logging
from pathlib import Path

from gridkit.cli.commands._common import (
    add_crs_option,
    add_output_option,
    back_to_input_crs,
    layer_file,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import DemoContext, demo_graph, patrol_grids
from gridkit.errors import InvalidValueError

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "route",
        help="patrol routes over every street of each grid, or site-visit rounds",
        description="--mode streets: one closed tour per grid over every street inside it "
        "(exact Chinese or rural postman, pieces joined by the shortest connection; one-way "
        "streets when --network drive; --persons N shares it among N persons). --mode sites: "
        "the order of visits to the grid's entities from a base point and back. Writes the "
        "routes (and the steps or stops) as layers of OUT, plus OUT.gpx for phones.",
    )
    p.add_argument("--mode", choices=("streets", "sites"), default="streets")
    p.add_argument("--roads", required=True, help="roads layer (PATH or PATH:LAYER)")
    p.add_argument("--grids", required=True, help="grids layer with grid_id")
    p.add_argument("--entities", help="entities layer (needed for --mode sites)")
    p.add_argument("--grid-id", default="grid_id", help="grid id column (default: %(default)s)")
    p.add_argument(
        "--start", help="start/base point 'X,Y' in the input CRS (default: the grid's centre)"
    )
    p.add_argument(
        "--speed", type=float, help="travel speed in km/h (default: 5 walking, by class driving)"
    )
    p.add_argument(
        "--network",
        choices=("walk", "drive"),
        default="walk",
        help="walk: one-way flags ignored; drive: one-way streets bind, footways left out",
    )
    p.add_argument(
        "--persons", type=int, default=1,
        help="streets: share each grid's streets among N persons, N closed routes from the "
        "same start, the longest as short as possible (default: %(default)s)",
    )
    p.add_argument(
        "--patrol-classes",
        help="streets: road classes to patrol, comma-separated (e.g. residential,service,"
        "footway); the others are left off and reported as excluded_m (default: every street)",
    )
    p.add_argument(
        "--time-limit", type=float, default=10.0,
        help="seconds per grid for the exact tour (default: %(default)s); when it stops, the "
        "gap to a proven lower bound is reported",
    )
    add_crs_option(p)
    add_output_option(p)
    p.set_defaults(func=run)


def _point(text: str | None):
    import shapely

    if not text:
        return None
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidValueError(f"--start must be 'X,Y' (e.g. 24.94,60.17), got {text!r}") from exc
    return shapely.Point(x, y)


def _sites(layers, G, grid_id: str, base, time_limit: float = 0.7):
    import geopandas as gpd
    import pandas as pd

    from gridkit.routing.visits import visit_route

    grids, ents = layers["grids"], layers["entities"]
    hit = gpd.sjoin(
        ents, grids[[grid_id, grids.geometry.name]], predicate="intersects", how="inner"
    )
    hit = hit[~hit.index.duplicated()]
    stops, legs, rows = [], [], []
    for gid in grids[grid_id]:
        sel = ents.loc[hit.index[hit[grid_id] == gid]]
        if len(sel) == 0:
            continue
        r = visit_route(sel, graph=G, base=base, time_limit=time_limit)
        stops.append(r.stops.assign(**{grid_id: gid}))
        legs.append(r.legs.assign(**{grid_id: gid}))
        rows.append(
            {
                grid_id: gid,
                "stops": len(sel),
                "length_m": r.length_m,
                "travel_min": r.travel_min,
                "service_min": r.service_min,
                "total_min": r.total_min,
            }
        )
    crs = ents.crs
    stops = gpd.GeoDataFrame(pd.concat(stops, ignore_index=True), crs=crs) if stops else None
    legs = gpd.GeoDataFrame(pd.concat(legs, ignore_index=True), crs=crs) if legs else None
    return stops, legs, pd.DataFrame(rows)


def _track_names(routes, grid_id: str):
    names = "patrol " + routes[grid_id].astype(str)
    if (routes["person"] > 1).any():
        names = names + " person " + routes["person"].astype(str)
    return names


def run(args) -> int:
    import geopandas as gpd
    import pandas as pd

    from gridkit.io.atomic import staged
    from gridkit.io.files import write_layers
    from gridkit.io.gpx import write_gpx
    from gridkit.layers import load_layers
    from gridkit.routing.postman import patrol_routes
    from gridkit.routing.roadgraph import road_graph

    start = _point(args.start)
    if args.persons < 1:
        raise InvalidValueError(f"--persons must be 1 or more, got {args.persons}")
    if args.time_limit <= 0:
        raise InvalidValueError(f"--time-limit must be positive seconds, got {args.time_limit}")
    classes = [c.strip() for c in (args.patrol_classes or "").split(",") if c.strip()] or None
    if args.mode == "sites" and not args.entities:
        raise InvalidValueError("--mode sites needs --entities")
    writes = ("routes", "route_steps") if args.mode == "streets" else ("stops", "legs")
    refuse_output_over_input(args.output, [args.roads, args.grids, args.entities],
                             writes=writes, also=[layer_file(args.output).with_suffix(".gpx")])
    layers = load_layers(
        roads=args.roads, grids=args.grids, entities=args.entities, crs=args.crs, strict=args.strict
    )
    G = road_graph(layers["roads"], mode=args.network, speeds=args.speed)
    if start is not None:
        start = gpd.GeoSeries([start], crs=layers.input_crs).to_crs(layers.crs).iloc[0]
    out = Path(args.output)
    if args.mode == "streets":
        res = patrol_routes(None, layers["grids"], graph=G, grid_id=args.grid_id, start=start,
                            persons=args.persons, patrol_classes=classes,
                            time_limit=args.time_limit)
        table = res.routes.drop(columns="geometry")
        tracks = res.routes.assign(name=_track_names(res.routes, args.grid_id))
        with staged():  # the layers and the GPX, or neither
            written = write_layers(
                {
                    "routes": back_to_input_crs(res.routes, layers),
                    "route_steps": back_to_input_crs(res.steps, layers),
                },
                out,
            )
            write_gpx(written.with_suffix(".gpx"), tracks=tracks)
        for msg in res.issues["message"]:
            print(f"note: {msg}")
    else:
        stops, legs, table = _sites(layers, G, args.grid_id, start)
        if stops is None:
            raise InvalidValueError("no entity lies inside any grid: nothing to visit")
        name = stops[args.grid_id].astype(str) + " #" + stops["order"].astype(str)
        with staged():
            written = write_layers(
                {"stops": back_to_input_crs(stops, layers),
                 "legs": back_to_input_crs(legs, layers)},
                out,
            )
            write_gpx(
                written.with_suffix(".gpx"),
                waypoints=stops.assign(name=name),
                tracks=legs.assign(
                    name=legs[args.grid_id].astype(str) + " leg " + legs["order"].astype(str)
                ),
            )
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
    print(f"wrote {written} and {written.with_suffix('.gpx')}")
    return 0


def demo_step(ctx: DemoContext) -> None:
    from gridkit.io.files import write_layers
    from gridkit.io.gpx import write_gpx
    from gridkit.routing.postman import patrol_routes

    grids, source = patrol_grids(ctx)
    G = demo_graph(ctx)
    from gridkit.io.atomic import staged

    res = patrol_routes(None, grids, graph=G)
    ctx.results["routes"] = res
    with staged():
        path = write_layers(
            {
                "routes": back_to_input_crs(res.routes, ctx.layers),
                "route_steps": back_to_input_crs(res.steps, ctx.layers),
            },
            ctx.outdir / "routes.gpkg",
        )
        gpx = write_gpx(
            ctx.outdir / "routes.gpx",
            tracks=res.routes.assign(name="patrol " + res.routes["grid_id"].astype(str)),
        )
    r = res.routes
    km = r[["street_m", "length_m", "deadhead_m"]].sum() / 1000
    ctx.add(
        f"route: patrol tours for {len(r)} {source}: {km['street_m']:.1f} km of streets, "
        f"tours {km['length_m']:.1f} km (deadhead {km['deadhead_m']:.1f} km), "
        f"{int((r['components'] > 1).sum())} grid(s) with disconnected streets, "
        f"{len(res.issues)} note(s); {G.graph['report'].summary}",
        path,
        gpx,
    )
