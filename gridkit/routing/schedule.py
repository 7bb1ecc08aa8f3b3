"""Monthly visit schedule: spread each grid's visits over working days and staff.

For every grid: the entities due this month (``visits_per_month`` visits;
frequencies below one a month, e.g. quarterly, fall due in a stable month
per entity), each visit in its own part of the month so that repeated visits
are spaced out, key-regime entities placed first, the daily street patrol
given to one person per working day (rotating), and every day's round kept
within the daily budget (travel + service + patrol). Visits go into the day
and person where they add the least time (cheapest insertion over the
network travel-time matrix, with a penalty for going over an even share of
the month, so that the work is spread over the days); each day's order is then improved by the
local search of :mod:`gridkit.routing._tsp`. What cannot fit is reported,
never silently dropped.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from gridkit.crs import to_crs
from gridkit.errors import GridkitWarning, InvalidValueError, MissingColumnError
from gridkit.io.gpx import write_gpx
from gridkit.layers import check_layer, check_staff
from gridkit.progress import progress
from gridkit.routing._tsp import local_search
from gridkit.routing.network import join_lines
from gridkit.routing.roadgraph import road_graph
from gridkit.routing.visits import base_matrix, travel_network

__all__ = ["monthly_schedule", "Schedule", "working_days", "visits_due", "write_gpx"]

log = logging.getLogger(__name__)
_REGIME_RANK = {"key": 0, "general": 1, "exempt": 2}


@dataclass
class Schedule:
    """A month's plan.

    Attributes
    ----------
    visits
        One row per visit: ``date``, ``person``, ``grid_id``, ``order``,
        ``entity_index`` (row label of the entities layer), ``entity_id``
        (when the layer has it), ``regime``, ``arrival`` (HH:MM),
        ``travel_min``, ``minutes`` (service); entity points, input CRS.
    days
        One row per person and working day: ``date``, ``person``,
        ``grid_id``, ``visits``, ``travel_min``, ``service_min``,
        ``patrol_min``, ``total_min``; the day's round as a line.
    unfit
        What could not be scheduled: ``grid_id``, ``entity_index``,
        ``visits_missing``, ``reason``.
    """

    visits: gpd.GeoDataFrame
    days: gpd.GeoDataFrame
    unfit: pd.DataFrame

    @property
    def summary(self) -> str:
        n = len(self.visits)
        miss = int(self.unfit["visits_missing"].sum()) if len(self.unfit) else 0
        worst = self.days["total_min"].max() if len(self.days) else 0
        return (
            f"{n} visits on {self.days['date'].nunique() if len(self.days) else 0} working days, "
            f"{len(self.days)} person-days (longest {worst:.0f} min); {miss} visit(s) could not fit"
            + (f"; {len(self.unfit)} item(s) reported in `unfit`" if len(self.unfit) else "")
        )


def next_month(today=None) -> str:
    """``"YYYY-MM"`` of the month after ``today`` (default: the current date)."""
    return str(pd.Period(today or pd.Timestamp.now(), freq="M") + 1)


#: The default work calendar: China's public holidays and official make-up working days.
CALENDAR = "CN"


def working_days(month: str, *, holidays=(), workdays=(0, 1, 2, 3, 4),
                 calendar: str | None = CALENDAR) -> list[pd.Timestamp]:
    """The working days of ``month`` (``"YYYY-MM"``).

    The weekdays in ``workdays``, less the public holidays of ``calendar``
    (an ISO country code of the ``holidays`` package: ``"CN"`` follows the
    State Council's yearly notice, days off in lieu included) and ``holidays``
    (further days off), plus the calendar's make-up working days on weekends
    (调休). ``calendar=None``: weekdays only. A year whose make-up days the
    package does not know yet (not yet announced) is planned without them, with
    a warning.

    Examples
    --------
    >>> len(working_days("2026-12"))
    23
    >>> days = working_days("2026-10")   # National Day week, Saturday 10 October worked
    >>> len(days), days[0].date().isoformat(), pd.Timestamp("2026-10-10") in days
    (18, '2026-10-08', True)
    >>> len(working_days("2026-10", calendar=None))
    22
    """
    try:
        if not re.fullmatch(r"\d{4}-\d{2}", str(month)):
            raise ValueError(month)
        start = pd.Period(month, freq="M")
    except (ValueError, TypeError) as exc:
        raise InvalidValueError(f"`month` must look like '2026-12', got {month!r}") from exc
    days = pd.date_range(start.start_time, start.end_time.normalize(), freq="D")
    off = {pd.Timestamp(h).normalize() for h in holidays}
    public, worked = _calendar_days(calendar, start.year)
    return [d for d in days if d not in off and d.date() not in public
            and (d.weekday() in set(workdays) or d.date() in worked)]


def _calendar_days(calendar: str | None, year: int):
    """``(public holidays, make-up working days)`` of ``year``, as sets of dates."""
    if calendar is None:
        return set(), set()
    import holidays as calendars  # the ``holidays`` package, kept up to date with each notice

    try:
        days = calendars.country_holidays(calendar, years=year)
    except NotImplementedError:
        raise InvalidValueError(
            f"`calendar` {calendar!r}: not a country the holidays package knows; give an ISO "
            "code such as 'CN', or None for weekdays only"
        ) from None
    worked = {d for d in getattr(days, "weekend_workdays", ()) if d.year == year}
    if calendar.upper() in {"CN", "CHN"} and not worked:
        warnings.warn(
            f"the holidays package ({calendars.__version__}) does not know China's make-up "
            f"working days (调休) for {year} yet: the plan counts weekdays and public holidays "
            "only; upgrade holidays once the State Council has announced them",
            GridkitWarning, stacklevel=4,
        )
    return set(days), worked


def _phase(key) -> float:
    h = hashlib.sha1(str(key).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def visits_due(per_month: np.ndarray, keys, month: str) -> np.ndarray:
    """Visits due in ``month``: ``floor(f*(m+1)+p) - floor(f*m+p)`` with a stable phase ``p``.

    Over any run of months the count averages ``f`` per month exactly
    (quarterly entities: one month in three, each in its own month).
    """
    m = pd.Period(month, freq="M").ordinal
    f = np.asarray(per_month, dtype=float)
    p = np.array([_phase(k) for k in keys])
    return (np.floor(f * (m + 1) + p) - np.floor(f * m + p)).astype(int)


def _ensure_regime(entities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    need = {"visits_per_month", "minutes_per_visit"}
    if need <= set(entities.columns):
        return entities
    try:
        from gridkit.workload import classify_entities
    except ImportError:
        classify_entities = None
    if classify_entities is None:
        raise MissingColumnError(
            "entities: need columns 'visits_per_month' and 'minutes_per_visit' (and optionally "
            "'regime'); run gridkit.classify_entities(entities) first or add them"
        )
    return classify_entities(entities)


def monthly_schedule(
    entities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    staff: pd.DataFrame,
    roads: gpd.GeoDataFrame | None = None,
    *,
    month: str | None = None,
    daily_budget_min: float = 360.0,
    graph: nx.MultiGraph | None = None,
    patrol_min: pd.Series | dict | None = None,
    holidays=(),
    workdays=(0, 1, 2, 3, 4),
    calendar: str | None = CALENDAR,
    day_start: str = "08:30",
    grid_id: str = "grid_id",
    mode: str = "walk",
    speeds=None,
    seed: int | None = None,
) -> Schedule:
    """Plan a month of visits (and the daily patrol) for every grid's staff.

    Parameters
    ----------
    entities
        Points with ``visits_per_month`` and ``minutes_per_visit`` (else
        :func:`gridkit.workload.classify_entities` adds them) and optionally
        ``regime`` (key/general/exempt). Never modified.
    grids
        Grid polygons with ``grid_id``; an entity belongs to the first grid
        that contains it.
    staff
        Table with ``name``, ``phone``, ``grid_id``: who works in which grid.
    roads
        The roads layer (ignored when ``graph`` is given).
    month
        ``"YYYY-MM"``; default: the month after today.
    daily_budget_min
        Most minutes per person and day, travel included (default 6 h).
    graph
        A prebuilt :func:`gridkit.road_graph` graph.
    patrol_min
        Minutes of the daily street patrol per grid (``grid_id -> min``, e.g.
        ``patrol_routes(...).routes.set_index("grid_id")["minutes"]``); one
        person per working day does it, in turn. Default: no patrol.
    holidays, workdays, calendar
        Further days off (dates), the working weekdays (0 = Monday) and the
        public-holiday calendar (default ``"CN"``: China's holidays and
        make-up working days from the ``holidays`` package; ``None``: none),
        see :func:`working_days`.
    day_start
        Clock time of the first departure (``HH:MM``).
    seed
        Deprecated, has no effect: the schedule is deterministic (cheapest
        insertion, then a deterministic local search of each day's order).
        Accepted for one more release with a :class:`DeprecationWarning`.

    Examples
    --------
    >>> from gridkit import load_sample
    >>> import pandas as pd
    >>> s = load_sample()
    >>> e = s["entities"].head(30).assign(visits_per_month=1.0, minutes_per_visit=10.0)
    >>> g = s["villages"].rename(columns={"code": "grid_id"})
    >>> staff = pd.DataFrame({"name": ["Li", "Wang"], "phone": ["1", "2"],
    ...                       "grid_id": [g["grid_id"].iloc[2]] * 2})
    >>> plan = monthly_schedule(e, g, staff, s["roads"], month="2026-12")
    >>> bool((plan.days["total_min"] <= 360).all())
    True
    """
    if seed is not None:
        warnings.warn(
            "monthly_schedule: `seed` has no effect (the schedule is deterministic) and will "
            "be removed in the next release; drop the argument",
            DeprecationWarning,
            stacklevel=2,
        )
    if daily_budget_min <= 0:
        raise InvalidValueError(f"`daily_budget_min` must be > 0, got {daily_budget_min}")
    entities = check_layer(entities, "entities", id_column="")
    grids = check_layer(grids, "grids", required=(grid_id,), id_column=grid_id)
    staff = check_staff(staff)
    entities = _ensure_regime(entities)
    if month is None:
        month = next_month()
    days = working_days(month, holidays=holidays, workdays=workdays, calendar=calendar)
    if not days:
        raise InvalidValueError(f"{month}: no working day (check `holidays` and `workdays`)")
    G = graph if graph is not None else road_graph(roads, mode=mode, speeds=speeds)
    wcrs = G.graph["crs"]
    ent = to_crs(entities, wcrs)
    g = to_crs(grids[[grid_id, grids.geometry.name]], wcrs).reset_index(drop=True)
    hit = gpd.sjoin(ent[[ent.geometry.name]], g, predicate="intersects", how="left")
    hit = hit[~hit.index.duplicated(keep="first")]
    ent_grid = hit[grid_id].reindex(ent.index)
    per_month = pd.to_numeric(entities["visits_per_month"], errors="coerce").fillna(0).to_numpy()
    keys = entities["entity_id"] if "entity_id" in entities.columns else entities.index
    due = visits_due(per_month, list(keys), month)
    service = pd.to_numeric(entities["minutes_per_visit"], errors="coerce").fillna(0).to_numpy()
    regime = (
        entities["regime"].astype(str).to_numpy()
        if "regime" in entities.columns
        else np.full(len(entities), "general")
    )
    patrol = pd.Series(patrol_min if patrol_min is not None else {}, dtype=float)
    h, mnt = (int(x) for x in day_start.split(":"))
    plan_month = _Month(days=days, budget=daily_budget_min, t0=h * 60 + mnt, grid_id=grid_id)
    todo = _Entities(frame=entities, points=ent.geometry, due=due, service=service, regime=regime)
    net = travel_network(G)

    visit_rows, day_rows, unfit = [], [], []
    outside = (due > 0) & ent_grid.isna().to_numpy()
    for i in np.flatnonzero(outside):
        unfit.append(
            {
                grid_id: None,
                "entity_index": entities.index[i],
                "visits_missing": int(due[i]),
                "reason": "outside every grid",
            }
        )
    for gid in progress(list(g[grid_id]), desc="schedule", unit="grid"):
        people = staff.loc[staff["grid_id"].astype(str) == str(gid), "name"].tolist()
        rows = np.flatnonzero((ent_grid.astype(object).to_numpy() == gid) & (due > 0))
        p_min = float(patrol.get(gid, 0.0)) if len(patrol) else 0.0
        if not people:
            for i in rows:
                unfit.append(
                    {
                        grid_id: gid,
                        "entity_index": entities.index[i],
                        "visits_missing": int(due[i]),
                        "reason": "no staff for this grid",
                    }
                )
            continue
        if p_min > daily_budget_min:
            unfit.append(
                {
                    grid_id: gid,
                    "entity_index": None,
                    "visits_missing": 0,
                    "reason": f"the street patrol takes {p_min:.0f} min, more than the daily "
                    f"budget of {daily_budget_min:.0f} min: split the grid or share the patrol",
                }
            )
            p_min = 0.0
        planned = _plan_grid(_Grid(gid, rows, people, p_min), plan_month, todo, net)
        visit_rows += planned.visits
        day_rows += planned.days
        unfit += planned.unfit
    visits = gpd.GeoDataFrame(
        visit_rows,
        columns=[
            "date",
            "person",
            grid_id,
            "order",
            "entity_index",
            "entity_id",
            "regime",
            "arrival",
            "travel_min",
            "minutes",
            "geometry",
        ],
        geometry="geometry",
        crs=wcrs,
    ).to_crs(entities.crs)
    days_gdf = gpd.GeoDataFrame(
        day_rows,
        columns=[
            "date",
            "person",
            grid_id,
            "visits",
            "travel_min",
            "service_min",
            "patrol_min",
            "total_min",
            "geometry",
        ],
        geometry="geometry",
        crs=wcrs,
    ).to_crs(entities.crs)
    unfit_df = pd.DataFrame(unfit, columns=[grid_id, "entity_index", "visits_missing", "reason"])
    return Schedule(visits=visits, days=days_gdf, unfit=unfit_df)


_SPREAD = 10.0  # penalty per minute a slot goes over its even share of the month


@dataclass
class _Month:
    """What every grid's plan shares: the working days, the daily budget (min),
    the first departure (minutes after midnight) and the grid id column."""

    days: list[pd.Timestamp]
    budget: float
    t0: float
    grid_id: str


@dataclass
class _Entities:
    """The entities to plan: the input layer, their points in the working CRS,
    and per entity the visits due, the service minutes and the regime."""

    frame: gpd.GeoDataFrame
    points: gpd.GeoSeries
    due: np.ndarray
    service: np.ndarray
    regime: np.ndarray


@dataclass
class _Grid:
    """One grid to plan: its id, its entities (positions in the layer), its staff
    and the minutes of its daily patrol."""

    gid: object
    rows: np.ndarray
    people: list
    patrol_min: float


@dataclass
class _Planned:
    """One grid's plan: rows of ``Schedule.visits``, ``Schedule.days`` and ``Schedule.unfit``."""

    visits: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)
    unfit: list[dict] = field(default_factory=list)


def _plan_grid(grid: _Grid, month: _Month, ents: _Entities, net) -> _Planned:
    """Place one grid's visits into (day, person) rounds and write out the rounds."""
    out = _Planned()
    rows = grid.rows
    if len(rows) == 0:
        T = np.zeros((1, 1))
        pm, idx = None, None
    else:
        pm, T, idx = base_matrix(None, ents.points.to_numpy()[rows], network=net)
    Tm = T / 60.0  # minutes
    routes, patrol_of = _place_visits(grid, month, ents, Tm, out)
    has_id = "entity_id" in ents.frame.columns
    days, people, gid, grid_id = month.days, grid.people, grid.gid, month.grid_id
    service, regime = ents.service, ents.regime
    for (d, p), r in routes.items():
        pmin = patrol_of.get((d, p), 0.0)
        if len(r) == 1 and pmin == 0:
            continue
        order = _improve(np.array(r), Tm)
        clock = month.t0 + pmin  # the patrol first, then the round of visits
        travel = 0.0
        lines = []
        seq = list(order) + [0]
        for pos, (a, b) in enumerate(zip(seq[:-1], seq[1:], strict=False)):
            leg = float(Tm[a, b])
            travel += leg
            clock += leg
            if pm is not None:
                lines.append(pm.leg(int(idx[a]), int(idx[b]))[1])
            if b != 0:
                i = rows[b - 1]
                out.visits.append(
                    {
                        "date": days[d].date().isoformat(),
                        "person": people[p],
                        grid_id: gid,
                        "order": pos + 1,
                        "entity_index": ents.frame.index[i],
                        "entity_id": ents.frame["entity_id"].iloc[i] if has_id else None,
                        "regime": regime[i],
                        "arrival": f"{int(clock // 60):02d}:{int(clock % 60):02d}",
                        "travel_min": leg,
                        "minutes": float(service[i]),
                        "geometry": ents.points.iloc[i],
                    }
                )
                clock += service[i]
        svc = float(sum(service[rows[b - 1]] for b in order if b != 0))
        out.days.append(
            {
                "date": days[d].date().isoformat(),
                "person": people[p],
                grid_id: gid,
                "visits": int((order != 0).sum()),
                "travel_min": travel,
                "service_min": svc,
                "patrol_min": pmin,
                "total_min": travel + svc + pmin,
                "geometry": join_lines([x for x in lines if x is not None]),
            }
        )
    return out


def _place_visits(grid: _Grid, month: _Month, ents: _Entities, Tm: np.ndarray, out: _Planned):
    """Cheapest insertion of every due visit into a (day, person) round.

    Returns ``(routes, patrol_of)``: the rounds (node 0 is the base, node
    ``k + 1`` the grid's k-th entity) and the patrol minutes per slot; what
    cannot be placed goes to ``out.unfit``.
    """
    rows, gid, grid_id = grid.rows, grid.gid, month.grid_id
    service, due, budget = ents.service, ents.due, month.budget
    nd, npers = len(month.days), len(grid.people)
    # slot = (day, person); the patrol goes to one person per day, in turn
    slots = [(d, p) for d in range(nd) for p in range(npers)]
    p_min = grid.patrol_min
    patrol_of = {(d, d % npers): p_min for d in range(nd)} if p_min > 0 else {}
    routes: dict[tuple[int, int], list[int]] = {s: [0] for s in slots}
    used = {s: patrol_of.get(s, 0.0) for s in slots}
    reach = np.isfinite(Tm[0, 1:]) & np.isfinite(Tm[1:, 0]) if len(rows) else np.zeros(0, bool)
    # visits: key regime first, then the most frequent, then the longest
    jobs = []
    for local, i in enumerate(rows):
        if not reach[local]:
            out.unfit.append(
                {
                    grid_id: gid,
                    "entity_index": ents.frame.index[i],
                    "visits_missing": int(due[i]),
                    "reason": "cannot be reached over the road network",
                }
            )
            continue
        for k in range(int(due[i])):
            rank = _REGIME_RANK.get(ents.regime[i], 1)
            jobs.append((rank, -int(due[i]), -service[i], local, k))
    jobs.sort()
    # spread the month evenly: each (day, person) slot aims at an equal share of
    # the grid's minutes; insertion beyond that share is penalised, so visits
    # cluster into efficient rounds within a day but do not pile onto the first days
    work = sum(service[rows[job[3]]] for job in jobs) + sum(patrol_of.values())
    share = work / max(len(slots), 1)
    missing: dict[int, int] = {}
    placed_days: dict[int, set] = {}
    for _, neg_n, _, local, k in jobs:
        n = -neg_n
        node = local + 1
        lo, hi = (
            int(np.floor(k * nd / n)),
            max(int(np.floor((k + 1) * nd / n)), int(np.floor(k * nd / n)) + 1),
        )
        best = None
        for d in range(lo, min(hi, nd)):
            if d in placed_days.get(local, set()):
                continue
            for p in range(npers):
                r = routes[(d, p)]
                seq = np.array(r + [0])
                add = Tm[seq[:-1], node] + Tm[node, seq[1:]] - Tm[seq[:-1], seq[1:]]
                j = int(np.argmin(add))
                cost = float(add[j]) + service[rows[local]]
                score = cost + _SPREAD * max(0.0, used[(d, p)] + cost - share)
                if used[(d, p)] + cost <= budget + 1e-9 and (best is None or score < best[0]):
                    best = (score, cost, d, p, j)
        if best is None:
            missing[local] = missing.get(local, 0) + 1
            continue
        _, cost, d, p, j = best
        routes[(d, p)].insert(j + 1, node)
        used[(d, p)] += cost
        placed_days.setdefault(local, set()).add(d)
    for local, count in missing.items():
        out.unfit.append(
            {
                grid_id: gid,
                "entity_index": ents.frame.index[rows[local]],
                "visits_missing": count,
                "reason": "no working day in its part of the month has "
                f"{service[rows[local]]:.0f} min left in the daily budget: "
                "add staff or raise the budget",
            }
        )
    return routes, patrol_of


def _improve(order: np.ndarray, Tm: np.ndarray) -> np.ndarray:
    """A day's round after local search, when that is shorter (node 0, the base, first)."""
    if len(order) <= 3:
        return order
    sub = Tm[np.ix_(order, order)]
    better = local_search(sub, np.arange(len(order)))
    n = np.arange(len(order))
    if sub[better, np.roll(better, -1)].sum() < sub[n, np.roll(n, -1)].sum():
        return order[better]
    return order
