"""`gridkit repair`: clean a coverage with GEOS's coverage cleaner (issue #5)."""

from __future__ import annotations

from pathlib import Path

from gridkit.cli.commands._common import add_source_options, plain, refuse_output_over_input
from gridkit.cli.commands._demo import DemoContext
from gridkit.coverage.tolerances import DEFAULT_TOLERANCE


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "repair",
        help="snap, remove overlaps, fill narrow gaps, clip to the jurisdiction; print what moved",
        description="Clean a coverage with GEOS's coverage cleaner (snap vertices, give overlaps "
        "and gaps narrower than the tolerance to the neighbour with the longest shared border), "
        "clip to the jurisdiction, fill wider gaps only with --fill-gaps, then validate the "
        "result and print the area moved per grid. No grid is ever dropped. Exit 0 when the "
        "result is valid, 1 when issues remain (e.g. wide gaps), 2 for an input error.",
    )
    p.add_argument("grids", metavar="GRIDS", help="grid polygons: PATH or PATH:LAYER")
    p.add_argument("--jurisdiction", metavar="J", help="clip to it and fill gaps up to its edge")
    p.add_argument(
        "--tolerance",
        metavar="M",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="fill gaps narrower than this, in metres (default: %(default)s)",
    )
    p.add_argument("--fill-gaps", action="store_true", help="also fill wider gaps into a neighbour")
    p.add_argument(
        "--id-column", default="grid_id", help="the grids' id column (default: %(default)s)"
    )
    p.add_argument("--crs", help="metric working CRS (default: chosen automatically)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FIXED",
        help="output file (layer grids; other layers of a GeoPackage are kept); the change "
        "table goes beside it as <name>.changes.csv",
    )
    add_source_options(p)
    p.set_defaults(func=run, output_kind="layers")


def _table_path(path) -> Path:
    """``<name>.changes.csv`` beside the grids file ``path``."""
    path = Path(path)
    path = path.with_suffix(".gpkg") if path.suffix == "" else path
    return path.with_name(path.stem + ".changes.csv")


def _write(grids, changes, path):
    """The grids to ``path``; the change table beside it: both, or neither."""
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_csv, write_layer

    with staged():
        written = write_layer(grids, path, layer="grids")
        table = write_csv(changes, _table_path(written))
    return written, table


def run(args) -> int:
    from gridkit.coverage.repair import repair_coverage
    from gridkit.io.files import read_layer

    refuse_output_over_input(args.output, [args.grids, args.jurisdiction], writes=("grids",),
                             also=[_table_path(args.output)])
    result = repair_coverage(
        read_layer(args.grids),
        jurisdiction=read_layer(args.jurisdiction) if args.jurisdiction else None,
        tolerance=args.tolerance,
        fill_gaps=args.fill_gaps,
        id_column=args.id_column,
        crs=args.crs,
    )
    path, table = _write(result.grids, result.changes, args.output)
    print(plain(str(result)))
    print(f"written: {path} (changes: {table})")
    if result.report.valid:
        return 0
    print(f"not repaired: {_remaining(result.report)}; see the issues above")
    return 1


def _remaining(report) -> str:
    """What validation still finds, e.g. ``gap 2 (wider than the tolerance: --fill-gaps)``."""
    found = [f"{kind} {n}" for kind, n in report.summary.items() if n]
    return ", ".join(found) or "no issue"


def demo_step(ctx: DemoContext) -> None:
    """Repair the partition's grids (or the villages) and write them with the change table."""
    from gridkit.coverage.repair import repair_coverage

    grids = ctx.results.get("grids")
    id_column, what = "grid_id", "grids"
    if grids is None:
        grids, id_column, what = (
            ctx.layers["villages"],
            "code",
            "villages (no grids from partition)",
        )
    result = repair_coverage(
        grids, jurisdiction=ctx.layers.get("jurisdiction"), id_column=id_column
    )
    ctx.results["repair"] = result
    out = result.grids.to_crs(ctx.layers.input_crs)
    path, table = _write(out, result.changes, ctx.outdir / "repaired_grids.gpkg")
    moved = (
        float(result.changes[["gained_m2", "lost_m2"]].sum().sum()) if len(result.changes) else 0.0
    )
    ctx.add(
        f"repair: {what}: {len(result.changes)} of {len(out)} changed, {moved:,.1f} m² moved; "
        f"validation of the result ({', '.join(result.report.checked)}): "
        f"{_remaining(result.report)}",
        path,
        table,
    )
