"""`gridkit report`: posters (PNG/PDF) and the responsibility table (CSV/XLSX)."""

from __future__ import annotations

import logging
from pathlib import Path

from gridkit.cli.commands._common import add_source_options, refuse_output_over_input
from gridkit.cli.commands._demo import DemoContext, published_grids
from gridkit.publish.options import OSM_ATTRIBUTION, PAPER_SIZES, SCHEMES

log = logging.getLogger("gridkit.cli")

DEMO_POSTERS = 3


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="posters per grid and for the jurisdiction (PNG/PDF) and the responsibility table",
        description="Write printable posters (title, code, boundary over roads and buildings, "
        "north arrow, scale bar, legend, responsible persons) and the responsibility table "
        "(one row per grid, sorted by code) as CSV and XLSX into a folder. Grids without a "
        "grid_code get one (15-digit standard code; --previous keeps published codes).",
    )
    p.add_argument("--grids", required=True, help="grid polygons (with village_code)")
    for name, text in (
        ("roads", "road lines"),
        ("buildings", "building footprints (households)"),
        ("entities", "entity points (risk, credit)"),
        ("jurisdiction", "the jurisdiction outline"),
        ("villages", "villages (code, name) for the table's village names"),
        ("assignment", "the partition's units with grid_id (figures per grid)"),
        ("previous", "last published grids with grid_code (codes kept)"),
    ):
        p.add_argument(f"--{name}", help=text)
    p.add_argument("--staff", help="staff table (CSV/XLSX: name, phone, grid_id)")
    p.add_argument("--scheme", default="gb15", choices=sorted(SCHEMES), help="code scheme")
    p.add_argument("--object-class", help="6-digit object class (scheme cjt349)")
    p.add_argument("--paper", default="A4", choices=sorted(PAPER_SIZES))
    orient = p.add_mutually_exclusive_group()
    orient.add_argument("--landscape", dest="landscape", action="store_const", const=True,
                        help="landscape pages (default: the orientation that fits each grid)")
    orient.add_argument("--portrait", dest="landscape", action="store_const", const=False,
                        help="portrait pages")
    p.add_argument("--formats", default="png,pdf", help="poster formats (default: %(default)s)")
    p.add_argument("--no-per-grid", action="store_true", help="only the jurisdiction poster")
    p.add_argument(
        "--headers",
        default="both",
        choices=["both", "zh", "en"],
        help="table headers: Chinese and column names (default), Chinese or English",
    )
    p.add_argument("--title", help="poster title (default 网格公示 / 网格划分总图)")
    p.add_argument("--attribution", help="data credit printed on every poster")
    p.add_argument("-o", "--output", required=True, help="output folder")
    add_source_options(p)
    p.set_defaults(func=run)


def _read(source):
    from gridkit.io.files import read_layer

    return None if source is None else read_layer(source)


def run(args) -> int:
    from gridkit.io.atomic import staged
    from gridkit.io.files import read_layer, read_table
    from gridkit.publish.codes import assign_codes
    from gridkit.publish.posters import prepare_posters, write_posters
    from gridkit.publish.tables import responsibility_table, write_table

    out = Path(args.output)
    inputs = [getattr(args, k) for k in ("grids", "roads", "buildings", "entities",
                                         "jurisdiction", "villages", "assignment", "previous",
                                         "staff")]
    refuse_output_over_input(None, inputs, also=[out / "responsibility.csv",
                                                 out / "responsibility.xlsx"])
    grids = read_layer(args.grids)
    previous = _read(args.previous)
    if "grid_code" not in grids.columns or previous is not None:
        grids = assign_codes(
            grids,
            scheme=args.scheme,
            object_class=args.object_class,
            previous=previous,
            villages=_read(args.villages) if "village_code" not in grids.columns else None,
        )
        print(f"assigned {len(grids)} grid codes ({args.scheme})")
    layers = {
        k: _read(getattr(args, k)) for k in ("roads", "buildings", "entities", "jurisdiction")
    }
    assignment = read_table(args.assignment) if args.assignment else None
    staff = read_table(args.staff) if args.staff else None
    table = responsibility_table(
        grids,
        staff=staff,
        assignment=assignment,
        entities=layers["entities"],
        buildings=layers["buildings"],
        villages=_read(args.villages),
    )
    ps = prepare_posters(
        grids,
        staff=staff,
        assignment=assignment,
        title=args.title,
        attribution=args.attribution,
        villages=_read(args.villages),
        **layers,
    )
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    with staged():  # the tables and the posters, or nothing
        files = [
            write_table(table, out / "responsibility.csv", headers=args.headers),
            write_table(table, out / "responsibility.xlsx", headers=args.headers),
        ]
        posters = write_posters(
            ps,
            out / "posters",
            formats=formats,
            paper=args.paper,
            landscape=args.landscape,
            per_grid=not args.no_per_grid,
        )
    print(f"wrote the responsibility table ({len(table)} grids): {files[0]}, {files[1]}")
    print(f"wrote {len(posters)} poster files into {out / 'posters'}")
    return 0


def demo_step(ctx: DemoContext) -> None:
    from gridkit.publish.posters import prepare_posters, write_posters
    from gridkit.publish.tables import responsibility_table, write_table

    grids, source = published_grids(ctx)
    layers = ctx.layers
    staff = ctx.results["staff"]
    assignment = ctx.results.get("assignment")
    out = Path(ctx.outdir) / "report"
    table = responsibility_table(
        grids,
        staff=staff,
        assignment=assignment,
        entities=layers["entities"],
        buildings=layers["buildings"],
        villages=layers["villages"],
    )
    files = [
        write_table(table, out / "responsibility.csv"),
        write_table(table, out / "responsibility.xlsx"),
    ]
    ps = prepare_posters(
        grids,
        roads=layers["roads"],
        buildings=layers["buildings"],
        entities=layers["entities"],
        jurisdiction=layers["jurisdiction"],
        staff=staff,
        assignment=assignment,
        villages=layers["villages"],
        attribution=OSM_ATTRIBUTION + "; persons are fake demo data",
    )
    # the demo keeps its run short: the overview and the first DEMO_POSTERS grids (by
    # code) as PNG and PDF; `gridkit report` writes every grid
    first = sorted(grids["grid_code"])[:DEMO_POSTERS]
    posters = write_posters(ps, out / "posters", only=first)
    ctx.results["responsibility"] = table
    ctx.add(
        f"report: responsibility table of {len(table)} grids ({source}; CSV, XLSX) and "
        f"{len(posters)} poster files (A4 PNG+PDF: overview and {len(first)} of {len(grids)} "
        "grids; `gridkit report` prints all; the persons are FAKE demo staff)",
        *files,
        out / "posters",
    )
