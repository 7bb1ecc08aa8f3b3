"""`gridkit schedule`: a month of visits and patrols per grid and person."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

from gridkit.cli.commands._common import (
    add_crs_option,
    add_output_option,
    back_to_input_crs,
    layer_file,
    plain,
    refuse_output_over_input,
)
from gridkit.cli.commands._demo import (
    DemoContext,
    demo_graph,
    demo_staff,
    patrol_grids,
)
from gridkit.errors import CheckFailed, InvalidValueError

log = logging.getLogger("gridkit.cli")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "schedule",
        help="monthly plan: every entity's visits and the daily patrol over working days and staff",
        description="Spread each grid's visits (per the entities' visits_per_month and "
        "minutes_per_visit, else the workload policy) over the working days of a month and the "
        "grid's staff, key regime first, within a daily budget including travel and the street "
        "patrol. Writes OUT (layers visits, days, unfit), OUT.csv and OUT.gpx. Exit code 1 when "
        "some visits cannot fit.",
    )
    p.add_argument("--roads", required=True)
    p.add_argument("--grids", required=True)
    p.add_argument("--entities", required=True)
    p.add_argument("--staff", required=True, help="CSV/XLSX with name, phone, grid_id")
    p.add_argument("--month", default=None, help="YYYY-MM (default: next month)")
    p.add_argument(
        "--budget", type=float, default=360.0, help="minutes per person and day (default: 360)"
    )
    p.add_argument("--no-patrol", action="store_true", help="leave the daily street patrol out")
    p.add_argument(
        "--holiday", action="append", default=[],
        help="a further day off (YYYY-MM-DD); repeatable"
    )
    p.add_argument(
        "--calendar", default="CN", metavar="CODE",
        help="public holidays and make-up working days of this country (default: %(default)s, "
        "China's State Council calendar; 'none' for weekdays only)"
    )
    p.add_argument("--network", choices=("walk", "drive"), default="walk")
    p.add_argument("--speed", type=float, help="km/h (default: 5 walking)")
    add_crs_option(p)
    add_output_option(p)
    p.set_defaults(func=run)


def check_dates(month: str | None, holidays: list[str]) -> None:
    """``--month YYYY-MM`` and ``--holiday YYYY-MM-DD``, checked before any file is read.

    Examples
    --------
    >>> check_dates("2024-05", ["2024-05-01"])
    >>> check_dates("2024-13", [])
    Traceback (most recent call last):
    ...
    gridkit.errors.InvalidValueError: --month '2024-13': write YYYY-MM, e.g. 2024-05
    """
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise InvalidValueError(f"--month {month!r}: write YYYY-MM, e.g. 2024-05")
    for day in holidays:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
                raise ValueError(day)
            dt.date.fromisoformat(day)
        except ValueError:
            raise InvalidValueError(
                f"--holiday {day!r}: write a date as YYYY-MM-DD, e.g. 2024-05-01"
            ) from None


def minutes_rounded(table):
    """The table with its minute columns in whole minutes, as a timetable gives them.

    Examples
    --------
    >>> import pandas as pd
    >>> minutes_rounded(pd.DataFrame({"travel_min": [2.4999, 0.6], "minutes": [10.0, 12.5]}))
       travel_min  minutes
    0           2       10
    1           1       12
    """
    columns = [c for c in table.columns if c == "minutes" or c.endswith("_min")]
    return table.assign(**{c: table[c].round().astype("Int64") for c in columns})


def _write(plan, layers, out: Path, grid_id: str = "grid_id") -> list[Path]:
    """The layers, the CSV and the GPX: all three, or none."""
    import pandas as pd

    from gridkit.io.atomic import staged
    from gridkit.io.files import write_csv, write_layers
    from gridkit.io.gpx import write_gpx

    visits = back_to_input_crs(plan.visits, layers)
    days = back_to_input_crs(plan.days, layers)
    with staged():
        path = write_layers(
            {"visits": visits, "days": days,
             "unfit": plan.unfit.astype({"entity_index": "string"})},
            out,
        )
        csv = write_csv(minutes_rounded(pd.DataFrame(visits.drop(columns="geometry"))),
                        path.with_suffix(".csv"))
        gpx = write_gpx(
            path.with_suffix(".gpx"),
            tracks=days.assign(name=days["date"] + " " + days["person"]),
            waypoints=visits.assign(
                name=visits["date"] + " " + visits["person"] + " #" + visits["order"].astype(str)
            ),
        )
    return [path, csv, gpx]


def run(args) -> int:
    check_dates(args.month, args.holiday)  # before the geo stack loads
    from gridkit.layers import load_layers
    from gridkit.routing.postman import patrol_routes
    from gridkit.routing.roadgraph import road_graph
    from gridkit.routing.schedule import monthly_schedule

    out = layer_file(args.output)
    refuse_output_over_input(
        args.output, [args.roads, args.grids, args.entities, args.staff],
        writes=("visits", "days", "unfit"), also=[out.with_suffix(".csv"), out.with_suffix(".gpx")])
    layers = load_layers(
        roads=args.roads,
        grids=args.grids,
        entities=args.entities,
        staff=args.staff,
        crs=args.crs,
        strict=args.strict,
    )
    G = road_graph(layers["roads"], mode=args.network, speeds=args.speed)
    patrol = None
    if not args.no_patrol:
        routes = patrol_routes(None, layers["grids"], graph=G).routes
        patrol = routes.set_index("grid_id")["minutes"].to_dict()
    plan = monthly_schedule(
        layers["entities"],
        layers["grids"],
        layers.staff,
        graph=G,
        month=args.month,
        daily_budget_min=args.budget,
        patrol_min=patrol,
        holidays=args.holiday,
        calendar=None if args.calendar.lower() == "none" else args.calendar,
    )
    files = _write(plan, layers, Path(args.output))
    print(plain(str(plan.summary)))
    print("wrote " + ", ".join(map(str, files)))
    if len(plan.unfit):
        print(plan.unfit.groupby("reason")["visits_missing"].sum().to_string())
        raise CheckFailed(
            f"{int(plan.unfit['visits_missing'].sum())} visit(s) and "
            f"{len(plan.unfit)} item(s) could not be scheduled; see the 'unfit' layer"
        )
    return 0


def demo_step(ctx: DemoContext) -> None:
    from gridkit.routing.schedule import monthly_schedule, next_month
    from gridkit.workload import classify_entities

    grids, source = patrol_grids(ctx)
    G = demo_graph(ctx)
    ents, policy = classify_entities(ctx.layers["entities"]), "workload policy"
    staff = ctx.layers.staff
    if staff is None:
        staff = demo_staff(ctx, grids)
        who = "FAKE example staff (data/staff.csv)"
    else:
        who = "the staff table"
    routes = ctx.results.get("routes")
    patrol = routes.routes.set_index("grid_id")["minutes"].to_dict() if routes is not None else None
    month = next_month()
    plan = monthly_schedule(ents, grids, staff, graph=G, month=month, patrol_min=patrol)
    ctx.results["schedule"] = plan
    files = _write(plan, ctx.layers, ctx.outdir / "schedule.gpkg")
    ctx.add(f"schedule: {month} for {len(grids)} {source}, {who}, {policy}: {plan.summary}", *files)
