"""`gridkit edit`: draw and adjust grids on a map, served on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
import logging

from gridkit.cli.commands._common import (
    add_output_option,
    parse_weight,
    refuse_output_over_input,
)

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "edit",
        help="edit grids by hand on a map (local page): move units, lock, rebalance, save",
        description="Start the grid editor: a page on this machine (127.0.0.1 only, with a "
        "random token) showing the units coloured by grid and every grid's weight, target, "
        "deviation and contiguity. Click or brush units and move them to another grid of "
        "their village; lock grids and rebalance the others; undo, redo; save writes the "
        "layers `grids` and `assignment` to -o, as `gridkit partition` does. Starts from "
        "--assignment, else partitions first (--grids or --target). Serves until interrupted "
        "(Ctrl+C).",
    )
    p.add_argument("--units", required=True, metavar="SOURCE", help="units layer, PATH[:LAYER]")
    p.add_argument("--weight", required=True, metavar="COL",
                   help="column to balance, or a weighted sum such as 'entities_risk1*3+entities'")
    p.add_argument("--assignment", metavar="SOURCE",
                   help="the plan to start from: the units with grid_id (e.g. the `assignment` "
                   "layer gridkit partition writes), PATH[:LAYER]")
    count = p.add_mutually_exclusive_group()
    count.add_argument("--grids", type=int, metavar="K",
                       help="without --assignment: partition into K grids first")
    count.add_argument("--target", type=float, metavar="W",
                       help="without --assignment: partition with weight W per grid first")
    p.add_argument("--id-column", default="unit_id", help="unit id column (default: %(default)s)")
    p.add_argument("--nest-by", default="village_code", metavar="COL",
                   help="column of the level grids must not cross (default: %(default)s; "
                   "'none' to ignore)")
    p.add_argument("--tolerance", type=float, default=0.02,
                   help="allowed deviation from the target weight (default: %(default)s)")
    p.add_argument("--roads", metavar="SOURCE",
                   help="roads layer: drawn on the map; a rebalance prefers borders on roads")
    p.add_argument("--road-weight", type=float, default=0.5,
                   help="with --roads: 0..1, how much cheaper a border on a road is "
                   "(default: %(default)s)")
    p.add_argument("--buildings", metavar="SOURCE", help="buildings layer, drawn on the map")
    p.add_argument("--port", type=int, default=0,
                   help="local port (default: any free port)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page")
    add_output_option(p, help="GeoPackage the Save button writes (layers grids, assignment)")
    p.set_defaults(func=run)


def _start_ids(units, args):
    """The grid id of each unit from --assignment (joined on the id column)."""
    from gridkit.errors import InvalidValueError, MissingColumnError
    from gridkit.io.files import parse_source, read_layer

    path, layer = parse_source(args.assignment)
    plan = read_layer(path, layer=layer)
    for column in (args.id_column, "grid_id"):
        if column not in plan.columns:
            raise MissingColumnError(f"--assignment: no column {column!r}; give the units with "
                                     "their grid_id, e.g. the assignment layer of gridkit "
                                     "partition")
    grid_of = plan.drop_duplicates(args.id_column).set_index(args.id_column)["grid_id"]
    ids = units[args.id_column].map(grid_of)
    if ids.isna().any():
        missing = units.loc[ids.isna(), args.id_column].head(5).tolist()
        raise InvalidValueError(f"--assignment: {int(ids.isna().sum())} unit(s) have no grid "
                                f"there (e.g. {missing}): it must hold every unit")
    return ids.astype(str).to_numpy()


def run(args: argparse.Namespace) -> int:
    import webbrowser

    from gridkit.editor.session import edit
    from gridkit.errors import InvalidValueError
    from gridkit.layers import load_layers

    refuse_output_over_input(args.output, [args.units, args.assignment, args.roads,
                                           args.buildings], writes=("grids", "assignment"))
    layers = load_layers(units=args.units, roads=args.roads, buildings=args.buildings)
    units = layers["units"].to_crs(layers.input_crs)  # saved back in the input's CRS
    nest_by = None if str(args.nest_by).lower() == "none" else args.nest_by
    weight = parse_weight(args.weight)
    options = dict(id_column=args.id_column, nest_by=nest_by, tolerance=args.tolerance,
                   roads=layers.get("roads"), buildings=layers.get("buildings"),
                   road_weight=args.road_weight if args.roads else None,
                   output=args.output, port=args.port, show=False)
    if args.assignment:
        plan = units.assign(edit_start_grid=_start_ids(units, args))
        editor = edit(plan, weight, grid_column="edit_start_grid", **options)
    elif args.grids is None and args.target is None:
        raise InvalidValueError("give --assignment (a plan to start from) or --grids K / "
                                "--target W (partition first)")
    else:
        editor = edit(units, weight, k=args.grids, target=args.target, **options)
    print(f"gridkit edit: serving {editor.url}", flush=True)
    if not args.no_browser:
        webbrowser.open(editor.url)
    try:
        editor.wait()
    except KeyboardInterrupt:
        pass
    finally:
        editor.stop()
    return 0




def demo_step(ctx) -> None:
    """What a planner does in the editor, through its API: move a unit out of the heaviest
    grid, lock that grid as it now is, rebalance the others (the one that took the unit
    first of all), save."""
    from gridkit.editor.session import edit
    from gridkit.errors import PartitionError

    assignment, adjacency = ctx.results.get("assignment"), ctx.results.get("adjacency")
    if assignment is None or adjacency is None:
        ctx.add("edit: skipped (no partition to edit)")
        return
    weight = next(c for c in ("workload_min", "entities", "households") if c in assignment)
    ed = edit(assignment, weight, grid_column="grid_id", adjacency=adjacency,
              roads=ctx.layers.get("roads"), road_weight=0.5, show=False)
    try:
        grid_of = assignment.set_index("unit_id")["grid_id"]
        assignment_weight = assignment.set_index("unit_id")[weight]
        heaviest = max(ed.state()["grids"], key=lambda g: g["deviation"])["grid_id"]
        refused, moved = 0, None
        pairs = adjacency[["unit_a", "unit_b"]].to_numpy()
        pairs = [(u, o) for a, b in pairs for u, o in ((a, b), (b, a))
                 if grid_of[u] == heaviest and grid_of[o] != heaviest]
        for unit, other in sorted(pairs, key=lambda p: assignment_weight[p[0]]):
            try:
                ed.move([unit], grid_of[other])
                moved = (unit, grid_of[other])
                break
            except PartitionError:  # nesting or contiguity: the editor says no
                refused += 1
        if moved is None:
            ctx.add(f"edit: no unit of {heaviest} can move without breaking a rule")
            return
        after = {g["grid_id"]: g["deviation"] for g in ed.state()["grids"]}[moved[1]]
        ed.lock(heaviest)
        state = ed.rebalance()
        path = ed.save(ctx.outdir / "edited.gpkg")
    finally:
        ed.stop()
    worst = max(abs(g["deviation"]) for g in state["grids"])
    ctx.add(f"edit: unit {moved[0]} moved from {heaviest} to {moved[1]} ({refused} move(s) "
            f"refused first; {moved[1]} then {after:+.1%}), {heaviest} locked, the other grids "
            f"rebalanced: worst deviation {worst:.1%}, plan "
            f"{'valid' if state['valid'] else 'NOT valid'}", path)
