"""`gridkit validate`: prove full coverage with no gaps or overlaps (issue #5)."""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import TYPE_CHECKING

from gridkit.cli.commands._common import (
    add_source_options,
    check_text_file,
    plain,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import DemoContext
from gridkit.coverage.tolerances import DEFAULT_TOLERANCE

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd

    from gridkit.coverage.validate import CoverageReport

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check that grids cover the jurisdiction exactly once (gaps, overlaps, nesting...)",
        description="Check a coverage of grids: invalid geometry, overlaps, gaps (inside, along "
        "the "
        "jurisdiction's edge, missing grids), mismatched shared edges, parts outside the "
        "jurisdiction, grids crossing village boundaries, entities in no grid or two, split "
        "buildings, grids without staff, duplicate codes. Exit 0 when everything holds, 1 when "
        "an issue is found, 2 for a usage or input error.",
    )
    p.add_argument("grids", metavar="GRIDS", help="grid polygons: PATH or PATH:LAYER")
    p.add_argument("--jurisdiction", metavar="J", help="the territory the grids must cover")
    p.add_argument(
        "--villages", metavar="V", help="village polygons (with `code`) the grids nest in"
    )
    p.add_argument("--entities", metavar="E", help="points that must each be in exactly one grid")
    p.add_argument(
        "--buildings", metavar="B", help="footprints that must not be split between grids"
    )
    p.add_argument(
        "--staff", metavar="S", help="staff table (CSV/XLSX/layer: name, phone, grid_id)"
    )
    p.add_argument(
        "--tolerance",
        metavar="M",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="sliver width in metres: narrower gaps/overlaps are flagged sliver "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--id-column", default="grid_id", help="the grids' id column (default: %(default)s)"
    )
    p.add_argument(
        "--code-column",
        default=None,
        help="a code column that must be unique too (default: grid_code when present)",
    )
    p.add_argument("--crs", help="metric working CRS (default: chosen automatically)")
    p.add_argument(
        "--requirements",
        metavar="FILE",
        help="requirements table (TOML or CSV, see gridkit.coverage.requirements): each unmet "
        "rule is reported as kind requirement_unmet",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="run on dask: a local cluster unless --scheduler; "
        "same issues as the single-process check. GeoParquet entities/buildings (a file or a "
        "directory of files) are then read by the workers, partition by partition",
    )
    p.add_argument(
        "--tiles",
        type=int,
        metavar="N",
        help="with --distributed: N x N tiles for the layout checks (default: about "
        "10,000 grids per tile); implies --distributed",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask scheduler of an existing cluster (e.g. tcp://host:8786); implies --distributed",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    p.add_argument("-o", "--output", metavar="REPORT.gpkg",
                   help="write the issues as layer `issues` (an empty layer when there is none, "
                   "so no earlier run's issues stay); the file's other layers are kept")
    add_source_options(p)
    p.set_defaults(func=run, output_kind="layers")


def with_requirements(report: CoverageReport, requirements, grids: gpd.GeoDataFrame, *,
                      id_column: str = "grid_id", villages=None, staff=None, crs=None,
                      **layers) -> CoverageReport:
    """``report`` plus one ``requirement_unmet`` issue per unmet rule and area."""
    import pandas as pd

    from gridkit.coverage.requirements import check_requirements
    from gridkit.coverage.validate import ISSUE_COLUMNS

    if id_column != "grid_id":
        grids = grids.drop(columns="grid_id", errors="ignore")
        grids = grids.rename(columns={id_column: "grid_id"})
    req = check_requirements(requirements, villages=villages, grids=grids, staff=staff, crs=crs,
                             **{k: v for k, v in layers.items() if v is not None})
    issues = report.issues
    if len(req.issues):
        extra = req.issues.to_crs(issues.crs) if issues.crs is not None else req.issues
        extra = extra[[c for c in ISSUE_COLUMNS if c in extra.columns]].copy()
        point = extra.geometry.representative_point()  # x, y in the report's CRS
        extra["x"], extra["y"] = point.x, point.y
        issues = pd.concat([issues, extra], ignore_index=True)
    summary = dict(report.summary, requirement_unmet=len(req.issues))
    checked = tuple(report.checked) + ("requirement_unmet",)
    return dataclasses.replace(report, issues=issues, summary=summary, checked=checked)


def run(args) -> int:
    from gridkit.coverage.validate import validate_coverage
    from gridkit.errors import InvalidValueError
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, read_table, write_layer

    if args.tiles is not None and args.tiles < 1:
        raise InvalidValueError(f"--tiles must be 1 or more (N x N tiles), got {args.tiles}")
    refuse_output_over_input(
        args.output, [args.grids, args.jurisdiction, args.villages, args.entities,
                      args.buildings, args.staff, args.requirements], writes=("issues",))
    check_text_file(args.requirements, "--requirements")
    distributed = bool(args.distributed or args.tiles is not None or args.scheduler)
    grids = read_layer(args.grids)
    layers = {
        "jurisdiction": read_layer(args.jurisdiction) if args.jurisdiction else None,
        "villages": read_layer(args.villages) if args.villages else None,
        "entities": _features(args.entities, distributed and not args.requirements),
        "buildings": _features(args.buildings, distributed and not args.requirements),
    }
    staff = read_table(args.staff) if args.staff else None
    options = dict(staff=staff, tolerance=args.tolerance, id_column=args.id_column,
                   code_column=args.code_column, crs=args.crs)
    if distributed:
        from gridkit.scale.coverage import validate_coverage_distributed

        report = validate_coverage_distributed(grids, **layers, **options, tiles=args.tiles,
                                               scheduler=args.scheduler)
    else:
        report = validate_coverage(grids, **layers, **options)
    if args.requirements:
        report = with_requirements(
            report, args.requirements, grids, id_column=args.id_column,
            villages=layers["villages"], staff=staff, crs=args.crs,
            entities=layers["entities"], buildings=layers["buildings"],
        )
    note = None
    if args.output:
        with staged():  # an empty layer too: no earlier run's issues stay in the file
            path = write_layer(report.to_layer(), args.output, layer="issues")
        note = (f"wrote {len(report.issues)} issue(s) to {path} (layer issues)"
                if len(report.issues) else
                f"no issue: wrote an empty issues layer to {path} (earlier issues removed)")
    print(report.to_json(indent=None) if args.format == "json" else plain(str(report)))
    if note:  # JSON on stdout stays JSON
        print(note, file=sys.stderr if args.format == "json" else sys.stdout)
    return 0 if report.valid else 1


def _features(path: str | None, lazy: bool):
    """A features layer: left as a path for the workers when it is GeoParquet."""
    from gridkit.io.files import read_layer

    if path is None:
        return None
    if lazy:
        from gridkit.scale.parquet import is_lazy

        if is_lazy(path):
            return path
    return read_layer(path)


def demo_step(ctx: DemoContext) -> None:
    """Validate the partition's grids (or, without them, the villages), then the units."""
    import geopandas as gpd

    from gridkit.coverage.validate import validate_coverage
    from gridkit.io.atomic import staged
    from gridkit.io.files import write_layer

    layers = ctx.layers
    grids = ctx.results.get("grids")
    id_column = "grid_id"
    what = "grids"
    if grids is None:
        grids, id_column, what = layers["villages"], "code", "villages (no grids from partition)"
    report = validate_coverage(
        grids,
        jurisdiction=layers.get("jurisdiction"),
        villages=layers.get("villages") if what == "grids" else None,
        entities=layers.get("entities"),
        buildings=layers.get("buildings"),
        id_column=id_column,
    )
    ctx.results["coverage"] = report
    json_path = ctx.outdir / "coverage.json"
    paths = [json_path]
    with staged() as out:
        # issues' x/y in the input CRS, as `gridkit validate` on grids.gpkg gives them
        published = report.to_crs(layers.input_crs)
        out.path(json_path).write_text(published.to_json(indent=1), encoding="utf-8")
        if len(report.issues):
            paths.append(
                write_layer(
                    published.to_layer(),
                    ctx.outdir / "coverage_issues.gpkg",
                    layer="issues",
                )
            )
    found = ", ".join(f"{k} {v}" for k, v in report.summary.items() if v) or "none"
    ctx.add(f"validate: {what}: {'valid' if report.valid else 'INVALID'}; issues: {found}", *paths)
    units = ctx.results.get("units")
    if isinstance(units, gpd.GeoDataFrame) and "unit_id" in units.columns and len(units):
        # the basic units (issue 3) must tile the jurisdiction and nest in the villages too
        unit_report = validate_coverage(
            units,
            jurisdiction=layers.get("jurisdiction"),
            villages=layers.get("villages"),
            id_column="unit_id",
        )
        ctx.results["units_coverage"] = unit_report
        path = ctx.outdir / "units_coverage.json"
        with staged() as out:
            out.path(path).write_text(unit_report.to_crs(layers.input_crs).to_json(indent=1),
                                      encoding="utf-8")
        found = ", ".join(f"{k} {v}" for k, v in unit_report.summary.items() if v) or "none"
        state = "valid" if unit_report.valid else "INVALID"
        ctx.add(f"validate: {len(units)} basic units: {state}; issues: {found}", path)
