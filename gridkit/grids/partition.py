"""Balanced partition of basic units into contiguous grids nested in villages.

:func:`partition` is the GeoDataFrame shell; the work happens on arrays
(weights, an edge list / CSR adjacency, group labels) in the array core
:mod:`gridkit.grids.core` (numpy, scipy, pymetis, highspy):

1. :mod:`~gridkit.grids.core.alloc`: how many grids each village gets
   (exactly ``k`` in all, at least one each), then each connected part of a
   village;
2. :mod:`~gridkit.grids.core.coarsen`: units merged into small clusters by
   heavy-edge matching (clusters stop at roads), as in METIS's multilevel
   scheme; the split is refined on every level on the way back;
3. :mod:`~gridkit.grids.core.split`: recursive bisection of every part along
   its principal axis, cut at the weight share, with contiguity repair and a
   two-way rebalance at each level; then refined on the clusters; with many
   grids per part, :mod:`~gridkit.grids.core.metis` adds METIS's contiguous
   k-way splits as further starts (each village takes its grids from the
   start best on it);
4. :mod:`~gridkit.grids.core.refine`: on the units, boundary moves that
   balance the weights and then shorten borders / pull them onto roads, never
   breaking a grid apart; chains of moves along paths of grids;
5. :mod:`~gridkit.grids.core.recom`: for grids still out of tolerance (coarse
   or heavy units), the grid and a neighbour are merged and split again;
6. :mod:`~gridkit.grids.core.kway`: an iterated tabu search over boundary
   moves (gain = border cost saved) that may step out of the two-sided window
   and back (pair swaps, ejection chains); steps 2-6 run from several starts
   on small graphs and the best plan is kept;
7. :mod:`~gridkit.grids.core.flows`: with large grids (25 units or more on
   average), each pair of neighbouring grids gets the shortest border a
   minimum s-t cut finds in a band around their current one, inside both
   weight windows (KaHIP's flow refinement, with the windows two-sided);
   with 100 units or more per grid first on coarser copies of the plan
   (:mod:`~gridkit.grids.core.vcycle`: units clustered inside their grids,
   boundary moves and flows on every level back down, as in a V-cycle);
8. :mod:`~gridkit.grids.core.exact`: for village parts of up to 1,000 units,
   pairs of grids re-split by an integer programme (HiGHS) and, with
   ``exact=True`` on parts of at most 10 grids, the whole part solved,
   proving optimality or bounding the gap.

Hard rules: every unit in exactly one grid, every grid contiguous (units
joined by shared boundaries of positive length) and inside one village,
exactly the number of grids asked for, none empty. What cannot be met
(a unit heavier than the target, a village in several pieces) is done as
well as possible and said in :attr:`Partition.report`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import is_metric, to_crs, working_crs
from gridkit.errors import GridkitWarning, InvalidValueError, MissingColumnError
from gridkit.grids.core.alloc import grid_counts, part_counts
from gridkit.grids.core.coarsen import coarsen
from gridkit.grids.core.exact import Polish, polish
from gridkit.grids.core.graph import Graph, components_per_label, repair
from gridkit.grids.core.inputs import PartitionError, check_counts, cut_costs, resolve_weight
from gridkit.grids.core.kway import improve, plan_key
from gridkit.grids.core.metis import metis_split
from gridkit.grids.core.recom import recombine
from gridkit.grids.core.refine import Refiner
from gridkit.grids.core.split import bisect_split
from gridkit.grids.core.targets import grid_targets, unit_floors
from gridkit.grids.core.vcycle import v_cycle
from gridkit.grids.naming import grid_ids
from gridkit.grids.shape import inertia_index, inertia_values, polsby_popper, polsby_popper_values
from gridkit.layers import check_layer
from gridkit.units.adjacency import unit_adjacency

__all__ = ["partition", "Partition", "PartitionReport", "PartitionError",
           "polsby_popper", "inertia_index"]

log = logging.getLogger(__name__)


@dataclass
class PartitionReport:
    """What the partition achieved and what it could not.

    Attributes
    ----------
    k
        Number of grids made.
    mean
        Overall mean grid weight.
    max_over_mean, min_over_mean
        Heaviest and lightest grid against the overall mean.
    max_deviation
        Worst ``|weight / target - 1|`` where a grid's target is the mean of
        its village part (what balancing inside the nesting can reach), or
        for a grid that must hold a unit heavier than that mean (with the
        units only it connects to the rest, see ``tolerance``), that weight.
    bound
        Granularity: how far the heaviest unit (with the units only it
        connects to the rest) lies above its village's mean grid weight,
        relative to that mean (0 when none is heavier).
    within_tolerance
        Every grid within ``tolerance`` of its target.
    moved, kept
        With ``existing``: units that changed grid / stayed (``None`` otherwise).
    road_share
        Share of the length of the borders between grids that runs along
        roads (``nan`` when the adjacency has no ``road_m``).
    villages
        Per village: weight, units, parts, grids, mean grid weight and its
        deviation from the overall mean.
    warnings
        Everything that could not be done as asked, in words.
    seconds
        Wall time.
    optimal
        The exact polish proved every part's plan optimal (``False`` when it
        did not run or ran out of time).
    gap
        Relative gap between the plan's border cost and the exact polish's
        lower bound over the parts it solved (``0.0``: optimal; ``None``: the
        polish did not run or found no bound).
    """

    k: int
    mean: float
    tolerance: float
    max_over_mean: float
    min_over_mean: float
    max_deviation: float
    bound: float
    within_tolerance: bool
    moved: int | None
    kept: int | None
    road_share: float
    mean_polsby_popper: float
    villages: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    optimal: bool = False
    gap: float | None = None

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            f"{self.k} grids, mean weight {self.mean:,.1f}; max/mean {self.max_over_mean:.3f}, "
            f"min/mean {self.min_over_mean:.3f}; worst deviation from its village target "
            f"{self.max_deviation:.1%} (tolerance {self.tolerance:.0%}"
            + (f", granularity bound {self.bound:.1%}" if self.bound > self.tolerance else "")
            + ")",
            f"mean Polsby-Popper {self.mean_polsby_popper:.3f}"
            + ("" if math.isnan(self.road_share)
               else f"; {self.road_share:.0%} of grid borders on roads"),
        ]
        if self.gap is not None:
            lines.append("border cost proved optimal" if self.optimal
                         else f"border cost within {self.gap:.1%} of the optimum (exact polish)")
        if self.moved is not None:
            lines.append(f"rebalanced: {self.moved} unit(s) moved, {self.kept} kept their grid")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class Partition:
    """Result of :func:`partition`.

    Attributes
    ----------
    grids
        One dissolved polygon per grid: ``grid_id``, ``village_code``,
        ``weight``, ``target``, ``deviation``, ``units``, ``area_m2``,
        ``perimeter_m``, ``polsby_popper``, ``inertia_index``, ``contiguous``.
    assignment
        The input units with all their columns and ``grid_id`` (plus
        ``moved`` when rebalancing).
    report
        A :class:`PartitionReport`.
    """

    grids: gpd.GeoDataFrame
    assignment: gpd.GeoDataFrame
    report: PartitionReport


def _warn(messages: list[str], text: str) -> None:
    messages.append(text)


def _adjacency_positions(adj: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("unit_a", "unit_b", "shared_m") if c not in adj.columns]
    if missing:
        raise MissingColumnError(
            f"adjacency: missing column(s) {missing}; make it with gridkit.unit_adjacency(units)"
        )
    index = pd.Index(ids)
    a = index.get_indexer(adj["unit_a"])
    b = index.get_indexer(adj["unit_b"])
    unknown = (a < 0) | (b < 0)
    if unknown.any():
        bad = adj.loc[unknown, ["unit_a", "unit_b"]].head(3).values.tolist()
        raise InvalidValueError(
            f"adjacency: {int(unknown.sum())} pair(s) name units that are not in the units "
            f"(e.g. {bad}); recompute it from these units"
        )
    return a, b


@dataclass
class _Units:
    """The checked units and what :func:`partition` was asked to do with them."""

    checked: gpd.GeoDataFrame  # the units as given, checked (input CRS)
    metric: gpd.GeoDataFrame  # the same in a metric CRS
    w: np.ndarray  # weight of each unit
    wlabel: str  # what the weight is, in words
    group: np.ndarray  # nest group (village) of each unit
    codes: np.ndarray  # the groups' codes
    nest_by: str | None
    id_column: str
    existing: str | None
    tolerance: float


@dataclass
class _Edges:
    """The unit adjacency as positions: pairs ``ea``-``eb`` with their border (m),
    road length along it (m, or ``None``) and cut cost."""

    ea: np.ndarray
    eb: np.ndarray
    shared: np.ndarray
    road: np.ndarray | None
    cost: np.ndarray


@dataclass
class _Plan:
    """The unit graph within groups, cut into connected parts, with the grids of each part."""

    graph: Graph
    parts: np.ndarray  # part of each unit
    part_group: np.ndarray  # group of each part
    part_w: np.ndarray  # weight of each part
    part_n: np.ndarray  # units in each part
    part_k: np.ndarray  # grids of each part (0: joins the nearest grid of its group)
    w: np.ndarray  # weight of each unit
    xy: np.ndarray  # a point on each unit
    rng: np.random.Generator
    floor: np.ndarray | None = None  # least weight of each unit's grid (unit_floors)


@dataclass
class _Labelling:
    """The grid of each unit (``labels``), with the grids' names (``None``: to be
    numbered), targets and the grids that had a part attached."""

    labels: np.ndarray
    names: list[str] | None
    target: np.ndarray
    attached: set


def partition(
    units: gpd.GeoDataFrame,
    weight,
    *,
    k: int | None = None,
    target: float | None = None,
    capacity: float | None = None,
    per_village: bool = False,
    nest_by: str | None = "village_code",
    existing: str | None = None,
    seed: int = 0,
    tolerance: float = 0.02,
    adjacency: pd.DataFrame | None = None,
    road_weight=None,
    id_column: str = "unit_id",
    fixed=None,
    exact="auto",
    time_limit: float | None = None,
) -> Partition:
    """Group units into exactly ``k`` balanced, contiguous grids nested in villages.

    The objective: minimise the total border cost, the sum over adjacent unit
    pairs in different grids of ``shared_m`` times the road factor (a border
    along a road costs ``shared_m - factor x road_m`` with ``road_weight``),
    subject to: exactly ``k`` grids, each contiguous, each inside one village
    (``nest_by``), and every grid's weight within ``tolerance`` of its target
    on both sides (``tolerance=0.005``: every grid in ``[0.995, 1.005] x
    target``). Feasibility comes first: when no plan meets the tolerance, the
    one with the least weight outside it is returned and the report says how
    far off it is and why.

    The engine: coarsening by heavy-edge matching inside villages, recursive
    bisection, boundary refinement, then an iterated tabu search over
    boundary moves (gain = border cost saved; stepping out of the balance
    window and back gives the pair swaps and ejection chains that coarse
    units need) and, for small parts, an exact integer programme (HiGHS).

    Parameters
    ----------
    units
        Polygons (basic units from :func:`gridkit.build_units` or any polygon
        layer) with ``id_column`` and, unless ``nest_by=None``, the nesting
        column. Never modified.
    weight
        What to balance: a column name (``"workload_min"``), a Series aligned
        on ``units``, or a dict ``{column: factor}`` for a weighted sum.
    k
        Number of grids: in total (distributed over villages by weight,
        largest remainder, at least one each) or, with ``per_village``, in
        each village.
    target
        Weight per grid instead of ``k``: ``k = round(total / target)``.
    capacity
        Most weight one grid (one person) may carry, e.g. minutes per month:
        each village gets ``ceil(weight / capacity)`` grids.
    per_village
        ``k`` grids in every village.
    nest_by
        Column of the level grids must not cross (``None``: no nesting).
    existing
        Column holding a current grid id per unit: rebalance it, moving as
        few units as possible (the number of grids stays as it is unless
        ``k``/``target``/``capacity`` is given). Units with no id join a
        neighbouring grid.
    seed
        Turns the bisection axes slightly; the same seed gives the same grids.
    tolerance
        Allowed relative deviation of a grid's weight from its target (the
        mean of its village part; a grid that must hold a unit heavier than
        that mean, with the units only it connects to the rest when they
        are too light for a grid of their own, has that weight as its
        target, and the part's other grids share what is left).
    adjacency
        Precomputed :func:`gridkit.unit_adjacency` of ``units`` (computed
        when ``None``). Needs ``road_m`` (and ``road_class``) for
        ``road_weight``.
    road_weight
        Prefer grid borders along roads: a factor in 0..1 (1: a border on a
        road costs nothing) or a dict ``{road_class: factor}``.
    id_column
        Unit id column.
    fixed
        Units that must stay in a given grid: a column name or a Series
        aligned on ``units`` holding a grid id per unit (missing: free). Needs
        ``existing``; fixed units never move and the free units are balanced
        around them (e.g. rebalance the unlocked grids of a plan).
    exact
        Exact polish by integer programming (HiGHS) of each village part of
        at most 10 grids: ``"auto"`` (default, parts of at most 300 units)
        re-splits pairs of neighbouring grids optimally while that shortens
        the border, and solves two-grid parts whole; ``True`` (parts of at
        most 1,000 units) does that and then solves the whole part, proving
        optimality or bounding the gap; ``False`` never. Parts with more
        grids, or more units, up to 1,000 units get the pair re-splits only
        (each pair inside its grids' windows; no proof), when the plan has
        at most 2,000 units. Warm started from the
        heuristic plan; only a better plan replaces it. ``report.optimal`` /
        ``report.gap`` say what was proved. Not used with ``existing``
        (rebalancing keeps moves few instead).
    time_limit
        Seconds the exact polish may take in all (default 10); the best plan
        and bound so far are kept. With ``"auto"`` the work is bounded by
        counts (a few re-splits per grid, 500 branch-and-bound nodes each),
        so the result is the same on any machine and this is only a safety
        stop; with ``True`` the time decides (results may then differ
        between machines).

    Returns
    -------
    Partition
        ``.grids``, ``.assignment``, ``.report`` (in the input CRS).

    Raises
    ------
    PartitionError
        More grids than units (in a village), fewer grids than villages,
        conflicting options.
    MissingColumnError, InvalidValueError
        Missing columns, non-numeric or negative weights.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame(
    ...     {"unit_id": range(16), "village_code": ["a"] * 8 + ["b"] * 8,
    ...      "households": [10] * 16},
    ...     geometry=[box(i % 4, i // 4, i % 4 + 1, i // 4 + 1) for i in range(16)],
    ...     crs=3857)
    >>> result = partition(cells, "households", k=4)
    >>> result.grids[["grid_id", "village_code", "weight", "units"]].values.tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['a-001', 'a', 40.0, 4], ['a-002', 'a', 40.0, 4],
     ['b-001', 'b', 40.0, 4], ['b-002', 'b', 40.0, 4]]
    """
    started = time.perf_counter()
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidValueError(f"units: expected a GeoDataFrame, got {type(units).__name__}")
    check_counts(k, target, capacity, per_village, existing)
    if not 0 <= tolerance < 1:
        raise PartitionError(f"tolerance must lie in [0, 1), got {tolerance!r}")
    polish_opts = _exact_options(exact, time_limit, existing)
    if fixed is not None and existing is None:
        raise PartitionError("fixed= needs existing= (the current grid of every unit): the "
                             "fixed units keep their grid, the others are rebalanced")
    job = _load_units(units, weight, nest_by=nest_by, existing=existing, id_column=id_column,
                      tolerance=tolerance)
    geoms = np.asarray(job.metric.geometry.values)
    xy = shapely.get_coordinates(shapely.point_on_surface(geoms))
    messages: list[str] = []
    rng = np.random.default_rng(seed)
    edges = _edges(job, adjacency, road_weight)
    plan = _make_plan(job, edges, xy, rng)
    group_k = _group_counts(job, k=k, target=target, capacity=capacity,
                            per_village=per_village, messages=messages)
    _part_counts(plan, job.codes, group_k, messages)
    plan.floor = unit_floors(plan.graph, plan.parts, plan.w, plan.part_w, plan.part_k, tolerance)

    frozen_ids = None
    if existing is not None:
        code_of_part = {p: job.codes[plan.part_group[p]] for p in range(len(plan.part_k))}
        ex = job.metric[existing].astype("string").to_numpy()
        if fixed is not None:
            frozen_ids = _fixed_ids(units, fixed)
            ex = np.where(pd.isna(frozen_ids), ex, frozen_ids)
        labels, names = _existing_labels(plan, ex, messages, code_of_part)
        label_part = np.zeros(len(names), dtype=int)
        label_part[labels[labels >= 0]] = plan.parts[labels >= 0]
        frozen = None if frozen_ids is None else ~pd.isna(frozen_ids)
        grid_target, has, polished, _ = _refine(plan, labels, label_part, tolerance=tolerance,
                                                fresh=False, frozen=frozen, rng=plan.rng)
    else:
        labels, grid_target, has, polished = _fresh(plan, shapely.area(geoms), tolerance,
                                                    polish_opts, seed)
        names = None
    if frozen_ids is not None:
        _check_fixed(np.asarray(names, dtype=object)[labels], frozen_ids, frozen,
                     job.checked[id_column])
    attached = _attach_parts(plan, labels, has, geoms, job.group)
    lab = _Labelling(labels, names, grid_target, attached)
    total_mode = (bool(nest_by) and not per_village and capacity is None
                  and (existing is None or k is not None or target is not None))
    unit_mean = plan.part_w[plan.parts] / np.maximum(plan.part_k[plan.parts], 1)
    grids, assignment, stats = _build_outputs(job, edges, lab, messages, unit_mean=unit_mean,
                                              floor=plan.floor, total_mode=total_mode)
    report = PartitionReport(**stats, warnings=messages, seconds=time.perf_counter() - started,
                             optimal=polished.optimal, gap=polished.gap)
    if messages:
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        warnings.warn(f"partition: {messages[0]}{more}; see result.report.warnings",
                      GridkitWarning, stacklevel=2)
    log.info("partition (%s): %s", job.wlabel, report.summary().replace("\n", "; "))
    return Partition(grids=grids, assignment=assignment, report=report)


def _load_units(units, weight, *, nest_by, existing, id_column, tolerance) -> _Units:
    """Check the units and their columns, resolve the weight, go to a metric CRS."""
    required = tuple(c for c in (id_column, nest_by) if c)
    if existing is not None:
        if not isinstance(existing, str) or existing not in units.columns:
            raise MissingColumnError(f"existing: units have no column {existing!r} of grid ids")
        required += (existing,)
    checked = check_layer(units, "units", id_column=id_column, required=required)
    w, wlabel = resolve_weight(checked, weight)
    if nest_by and checked[nest_by].isna().any():
        bad = checked.index[checked[nest_by].isna()]
        raise InvalidValueError(
            f"units: {len(bad)} unit(s) without {nest_by!r} (index {bad[:5].tolist()}); "
            "give every unit its village, or nest_by=None"
        )
    crs = checked.crs if is_metric(checked.crs) else working_crs(checked)
    metric = to_crs(checked, crs)
    nest = (metric[nest_by].astype(str).to_numpy() if nest_by else np.full(len(metric), ""))
    group, codes = pd.factorize(nest, sort=True)
    return _Units(checked, metric, w, wlabel, group, np.asarray(codes), nest_by, id_column,
                  existing, tolerance)


def _edges(job: _Units, adjacency, road_weight) -> _Edges:
    """The adjacency (computed when not given) as unit positions, with cut costs."""
    if adjacency is None and road_weight is not None:
        raise MissingColumnError(
            "road_weight needs the road length along unit borders (road_m): pass "
            "adjacency=gridkit.unit_adjacency(units, roads=roads)"
        )
    metric = job.metric
    adj = unit_adjacency(metric, id_column=job.id_column) if adjacency is None else adjacency
    ea, eb = _adjacency_positions(adj, metric[job.id_column].to_numpy())
    cost = cut_costs(adj, road_weight)
    shared = adj["shared_m"].to_numpy(dtype=float)
    road = adj["road_m"].to_numpy(dtype=float) if "road_m" in adj.columns else None
    return _Edges(ea, eb, shared, road, cost)


def _make_plan(job: _Units, edges: _Edges, xy: np.ndarray, rng) -> _Plan:
    """The graph of the units within their groups and its connected parts."""
    group = job.group
    inside = group[edges.ea] == group[edges.eb]
    graph = Graph.from_edges(len(job.metric), edges.ea[inside], edges.eb[inside],
                             edges.shared[inside], edges.cost[inside])
    n_parts, parts = graph.components()
    part_group = np.zeros(n_parts, dtype=int)
    part_group[parts] = group
    part_w = np.bincount(parts, weights=job.w, minlength=n_parts)
    part_n = np.bincount(parts, minlength=n_parts)
    return _Plan(graph, parts, part_group, part_w, part_n, np.zeros(n_parts, dtype=int), job.w,
                 xy, rng)


def _group_counts(job: _Units, *, k, target, capacity, per_village, messages) -> np.ndarray:
    """Grids per group: as many as it has now when rebalancing only, else as asked."""
    group, codes = job.group, job.codes
    if job.existing is not None and k is None and target is None and capacity is None:
        ex = job.metric[job.existing]
        counts = pd.Series(ex.to_numpy()).groupby(group).nunique().reindex(
            range(len(codes)), fill_value=0).to_numpy()
        return np.maximum(counts, 1)
    group_w = np.bincount(group, weights=job.w, minlength=len(codes))
    group_n = np.bincount(group, minlength=len(codes))
    return grid_counts(group_w, group_n, codes, len(job.metric), k=k, target=target,
                       capacity=capacity, per_village=per_village, messages=messages)


def _part_counts(plan: _Plan, codes, group_k, messages: list[str]) -> None:
    """Share each group's grids among its connected parts (sets ``plan.part_k``)."""
    part_w, part_n, part_k = plan.part_w, plan.part_n, plan.part_k
    for g in range(len(codes)):
        ps = np.flatnonzero(plan.part_group == g)
        part_k[ps] = part_counts(part_w[ps], part_n[ps], int(group_k[g]))
        if len(ps) > 1:
            text = (f"village {codes[g]!r} is in {len(ps)} disconnected parts "
                    f"(units {part_n[ps].tolist()}): grids given per part {part_k[ps].tolist()}")
            orphans = ps[part_k[ps] == 0]
            if len(orphans):
                text += (f"; {len(orphans)} part(s) too small for a grid of their own were "
                         "attached to the nearest grid of the village, which is then not "
                         "contiguous")
            _warn(messages, text)


def _tries(n: int) -> int:
    """Independent starts (bisection axes turned) kept by objective: more on small graphs."""
    return 6 if n <= 300 else 2 if n <= 2000 else 1


# METIS's imbalance of each METIS start, as a multiple of the tolerance: a
# looser first split leaves the refinement more room to shorten borders
_METIS_SLACK = (1.0, 1.25, 1.5, 1.75, 2.0)
# only for parts of this many grids or more: with few grids on small graphs the
# bisection's straight cuts are as short, and the exact polish does the rest
_METIS_MIN_K = 8
_METIS_MIN_K_LARGE = 3  # above _SEARCH_EACH_MAX units
_METIS_BIG = 20_000  # above this many units only the first two (each start costs a refinement)
# up to this many units every start gets the tabu search, above only the best
_SEARCH_EACH_MAX = 2000


def _fresh(plan: _Plan, area, tolerance, polish_opts, seed):
    """Several starts (split, refine, search), the best by (weight outside the
    windows, border cost), then the exact polish. Returns (labels, targets,
    mask of units with a grid, polish)."""
    tries = _tries(plan.graph.n)
    starts = [("bisect", t) for t in range(tries)]
    n_metis = len(_METIS_SLACK) if plan.graph.n <= _METIS_BIG else 2
    min_k = _METIS_MIN_K if plan.graph.n <= _SEARCH_EACH_MAX else _METIS_MIN_K_LARGE
    if plan.part_k.max(initial=0) < min_k:
        n_metis = 0
    starts += [("metis", t) for t in range(n_metis)]
    search_each = plan.graph.n <= _SEARCH_EACH_MAX
    found = []
    for kind, t in starts:
        if kind == "bisect":
            rng = plan.rng if t == 0 else np.random.default_rng([seed, t])
            labels, label_part = _initial_labels(plan, area, tolerance, rng=rng,
                                                 turn=t * np.pi / tries)
        else:
            rng = np.random.default_rng([seed, 1000 + t])
            start = _metis_labels(plan, tolerance, int(rng.integers(1 << 30)), _METIS_SLACK[t])
            if start is None:
                continue
            labels, label_part = start
        grid_target, has, _, key = _refine(plan, labels, label_part, tolerance=tolerance,
                                           fresh=True, rng=rng, search=search_each)
        found.append((key, labels, grid_target, has))
    best = min(found, key=lambda f: f[0])
    if len(found) > 1 and (plan.part_k > 0).sum() > 1:
        best = min(best, _best_per_part(plan, found, tolerance), key=lambda f: f[0])
    if not search_each:
        best = _search_best(plan, found, best, tolerance)
    finals = [best]
    if plan.graph.n <= _FINISH_MAX_UNITS:  # small graphs: finish the runners-up too
        finals += sorted((f for f in found if f is not best and f[0][0] == best[0][0]),
                         key=lambda f: f[0])[:_FINISH_TOP - 1]
    began, done = time.perf_counter(), []
    for f in finals:  # the polish's time limit is for all of them together
        opts = polish_opts
        if opts is not None:
            opts = (*opts[:2], max(opts[2] - (time.perf_counter() - began), 0.1), opts[3])
        done.append(_finish(plan, f, tolerance, opts))
        if done[-1][3].optimal:  # proved: no other start can do better
            break
    labels, grid_target, has, polished, _ = min(done, key=lambda d: d[4])
    return labels, grid_target, has, polished


# small graphs (up to _FINISH_MAX_UNITS units): the flows and the exact polish
# on this many of the best starts (of the best start's weight outside the
# windows), the shortest border kept. Measured at +/-0.5% (bench_partition's
# districting rows): georgia k=3 722.9 -> 675.1 km, sids2 k=3 630.2 -> 608.7,
# georgia k=4 1,070 -> 1,048, +0.3-1.5 s; on 1,000 synthetic units nested in
# villages it gained nothing for +3.6 s, hence the size limit
_FINISH_TOP = 2
_FINISH_MAX_UNITS = 800


def _finish(plan: _Plan, start, tolerance, polish_opts):
    """The flows and the exact polish on one start; (labels, targets, mask, polish, key)."""
    _, labels, grid_target, has = start
    labels = labels.copy()
    _flow_polish(plan, labels, grid_target, has, tolerance)
    polished = Polish()
    sub = _sub_graph(plan.graph, has)
    if polish_opts is not None:
        max_units, max_k, limit, full = polish_opts
        out = labels[has]
        polished = polish(sub, out, plan.w[has], grid_target, tolerance * grid_target,
                          plan.parts[has], max_units=max_units, max_k=max_k, time_limit=limit,
                          full=full, node_limit=None if full else _AUTO_NODES,
                          pair_units=_PAIR_UNITS if has.sum() <= _SEARCH_EACH_MAX else 0)
        labels[has] = out
    key = plan_key(sub, labels[has], plan.w[has], grid_target, tolerance * grid_target)
    return labels, grid_target, has, polished, key


# flow refinement only for grids of this many units or more on average: in
# smaller grids the tabu search and the exact polish already find such borders
_FLOW_MIN_UNITS = 25


def _flow_polish(plan: _Plan, labels, grid_target, has, tolerance) -> None:
    """Minimum-cut borders between neighbouring grids, on coarser copies of the
    plan and on the units (a V-cycle; in place on ``labels``)."""
    k = len(grid_target)
    if k < 2 or has.sum() < _FLOW_MIN_UNITS * k:
        return
    sub = _sub_graph(plan.graph, has)
    labels[has] = v_cycle(sub, labels[has], plan.w[has], grid_target, tolerance)


def _best_per_part(plan: _Plan, found, tolerance):
    """The plan that takes every part's grids from the start best on that part
    (parts do not interact: every start numbers the grids of a part alike)."""
    g = plan.graph
    labels = np.full(g.n, -1)
    grid_target = found[0][2].copy()
    inside = plan.parts[g.eu] == plan.parts[g.ev]
    for p in np.flatnonzero(plan.part_k > 0):
        nodes = plan.parts == p
        best_key, pick = None, None
        for _, lab, target, _ in found:
            grids = np.unique(lab[nodes])
            W = np.bincount(lab[nodes], weights=plan.w[nodes], minlength=len(target))[grids]
            ex = np.maximum(np.abs(W - target[grids]) - tolerance * target[grids], 0.0).sum()
            edges = inside & nodes[g.eu]
            cut = g.cost[edges & (lab[g.eu] != lab[g.ev])].sum()
            key = (round(float(ex), 9), float(cut))
            if best_key is None or key < best_key:
                best_key, pick = key, (lab, target, grids)
        lab, target, grids = pick
        labels[nodes] = lab[nodes]
        grid_target[grids] = target[grids]
    has = labels >= 0
    sub = _sub_graph(g, has)
    key = plan_key(sub, labels[has], plan.w[has], grid_target, tolerance * grid_target)
    return key, labels, grid_target, has


def _search_best(plan: _Plan, found, best, tolerance):
    """Large graphs: the tabu search on the best start and on the start of the
    shortest border when that one is a little outside the windows (the search
    steps back in where the refinement could not); the better result."""
    shortest = min(found, key=lambda f: (f[0][1], f[0][0]))
    out = None
    for key, labels, grid_target, has in [best] + ([shortest] if shortest is not best else []):
        if out is not None and key[1] >= out[0][1]:
            continue
        sub = _sub_graph(plan.graph, has)
        ref = Refiner(sub, labels[has], plan.w[has], grid_target, tolerance)
        labels = labels.copy()
        labels[has] = _search(sub, ref, plan.rng)
        key = plan_key(sub, labels[has], plan.w[has], grid_target, tolerance * grid_target)
        if out is None or key < out[0]:
            out = (key, labels, grid_target, has)
    return out


def _metis_labels(plan: _Plan, tolerance, metis_seed: int, slack: float):
    """(labels, label -> part) from METIS on every part, or None when METIS
    fails on one of them (the bisection's starts are then the only ones)."""
    labels = np.full(plan.graph.n, -1)
    label_part: list = []
    next_label = 0
    for p in np.flatnonzero(plan.part_k > 0):
        k = int(plan.part_k[p])
        nodes = np.flatnonzero(plan.parts == p)
        if k == 1:
            labels[nodes] = next_label
        else:
            split = metis_split(plan.graph, nodes, k, plan.w, tolerance=tolerance,
                                seed=metis_seed, slack=slack)
            if split is None:
                return None
            labels[nodes] = split + next_label
        next_label += k
        label_part += [p] * k
    return labels, np.asarray(label_part, dtype=int)


def _sub_graph(graph: Graph, has) -> Graph:
    return graph.induced(np.flatnonzero(has))


def _refine(plan: _Plan, labels, label_part, *, tolerance, fresh: bool, rng, frozen=None,
            search: bool = True):
    """Refine the units that have a grid (attached parts are left out), in place.

    Returns the grids' targets, the mask of the units that have a grid, an
    empty polish and the plan's key (weight outside the windows, border cost).
    """
    has = labels >= 0
    sub = _sub_graph(plan.graph, has)
    grid_target = grid_targets(labels, label_part, plan.parts, plan.part_w, plan.part_k, plan.floor)
    ref = Refiner(sub, labels[has], plan.w[has], grid_target, tolerance)
    polished = Polish()
    if frozen is not None:
        _close_fixed_grids(ref, frozen[has], plan.parts[has])
        grid_target = ref.target
    if fresh:
        ref.balance()
        ref.shape()
        ref.balance()
        ref.balance(allow_zero=True, only_out_of_band=True)
        ref.balance()
        ref.chains()
        if recombine(ref, plan.xy[has], rng, tolerance):
            ref.balance()
            ref.chains()
        ref.shape()
        ref.shape(band=1.0)  # the whole window: the tolerance is the caller's, use it
        labels[has] = _search(sub, ref, rng) if search else ref.labels
    else:
        ref.balance(only_out_of_band=True)
        ref.balance(allow_zero=True, only_out_of_band=True)
        ref.balance(only_out_of_band=True)
        ref.chains()
        labels[has] = ref.labels
    broken = components_per_label(sub, labels[has])
    if (broken > 1).any():  # cannot happen; never hand out a broken grid silently
        log.warning("refinement left %d grid(s) in pieces; repairing", int((broken > 1).sum()))
        fixed, _ = repair(sub, labels[has])
        labels[has] = fixed
    key = plan_key(sub, labels[has], ref.w, grid_target, np.asarray(ref.band))
    return grid_target, has, polished, key


def _close_fixed_grids(ref: Refiner, frozen, parts) -> None:
    """Fixed units stay; a grid made only of fixed units takes no unit either, and
    the other grids of its part share what is left of the part's weight."""
    ref.frozen = frozen.tolist()
    labels = ref.labels
    all_fixed = np.bincount(labels, weights=~frozen, minlength=ref.k) == 0
    closed = np.flatnonzero(all_fixed)
    ref.closed = frozenset(closed.tolist())
    W = np.asarray(ref.W)
    grid_part = np.zeros(ref.k, dtype=int)
    grid_part[labels] = parts
    target = ref.target.copy()
    for p in np.unique(grid_part[closed]):
        mine = grid_part == p
        open_ = mine & ~all_fixed
        if open_.any():
            target[open_] = (W[mine].sum() - W[mine & all_fixed].sum()) / open_.sum()
    target[closed] = W[closed]
    ref.target = target
    ref.tl = target.tolist()
    ref.band = (ref.tolerance * target).tolist()
    ref.norm = np.maximum(target, ref.norm.min())
    ref.nl = ref.norm.tolist()


# above this many units the tabu search's per-move scoring (numpy over all
# edges) costs more than it gains; the boundary refinement's plan is kept
_SEARCH_MAX_UNITS = 20_000


def _search(sub: Graph, ref: Refiner, rng) -> np.ndarray:
    """Iterated tabu search on the refined plan (small graphs; deterministic for a seed)."""
    labels = ref.labels
    if sub.n > _SEARCH_MAX_UNITS or ref.k < 2:
        return labels
    rounds = 8 if sub.n <= 300 else 3 if sub.n <= 2000 else 1 if sub.n <= 5000 else 0
    return improve(sub, labels, ref.w, ref.target, np.asarray(ref.band), rng=rng,
                   rounds=rounds, iterations=400 if sub.n <= 5000 else 300)


# work bound of each programme of the default polish (branch-and-bound nodes):
# counts, not seconds, so that a seed gives the same grids on any machine
_AUTO_NODES = 500
# parts too large (or with too many grids) for the whole programme still get
# the exact pair recombination up to this many units, on small graphs (up to
# _SEARCH_EACH_MAX units; on larger ones the flows shorten the borders: at
# 10,000 units / 200 grids the pairs took 0.3 s for -0.1%)
_PAIR_UNITS = 1000


def _exact_options(exact, time_limit, existing):
    """(max units, max grids, seconds, whole programme) of the exact polish, or None."""
    if exact not in ("auto", True, False):
        raise PartitionError(f"exact must be 'auto', True or False, got {exact!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float))
                                       and time_limit > 0 and math.isfinite(time_limit)):
        raise PartitionError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if exact is False or existing is not None:
        return None
    if exact == "auto":
        return 300, 10, float(time_limit or 10.0), False
    return 1000, 10, float(time_limit or 10.0), True


def _fixed_ids(units: gpd.GeoDataFrame, fixed) -> np.ndarray:
    """The fixed grid id of every unit as strings (``pd.NA``: free)."""
    if isinstance(fixed, str):
        if fixed not in units.columns:
            raise MissingColumnError(f"fixed: units have no column {fixed!r} of grid ids")
        values = units[fixed]
    elif isinstance(fixed, pd.Series):
        if not (fixed.index.isin(units.index).all() and units.index.isin(fixed.index).all()):
            raise InvalidValueError("fixed: the Series' index does not match the units' index; "
                                    "align it first (fixed.reindex(units.index))")
        values = fixed.reindex(units.index)
    else:
        raise InvalidValueError(f"fixed: expected a column name or a Series of grid ids, "
                                f"got {type(fixed).__name__}")
    return values.astype("string").to_numpy()


def _check_fixed(grid_ids, frozen_ids, frozen, ids) -> None:
    """Every fixed unit is in its grid, or the partition stops with the reason."""
    bad = np.flatnonzero(frozen & (grid_ids.astype(str) != frozen_ids.astype(str)))
    if len(bad):
        raise PartitionError(
            f"{len(bad)} fixed unit(s) could not keep their grid (e.g. unit "
            f"{ids.iloc[bad[0]]!r}, fixed to {frozen_ids[bad[0]]!r}): the fixed units of a grid "
            "must be connected and in one village, and k must leave every fixed grid in place"
        )


def _attach_parts(plan: _Plan, labels, has, geoms, group) -> set:
    """Parts without a grid join the nearest grid of their village (in place).

    Returns the labels of the grids that got a part.
    """
    orphan = ~has
    attached_labels = set()
    if orphan.any():
        for p in np.unique(plan.parts[orphan]):
            g = plan.part_group[p]
            cand = np.flatnonzero(has & (group == g))
            nodes = np.flatnonzero(plan.parts == p)
            tree = shapely.STRtree(geoms[cand])
            near = tree.nearest(shapely.union_all(geoms[nodes]))
            labels[nodes] = labels[cand[int(near)]]
            attached_labels.add(int(labels[cand[int(near)]]))
    return attached_labels


def _initial_labels(plan: _Plan, area, tolerance, *, rng, turn: float = 0.0):
    """Split every part on the coarsened graph, refine there, project to the units."""
    part_k = plan.part_k
    levels: list = []
    member, cg, cw, cxy, _, cparts = coarsen(plan.graph, plan.w, plan.xy, area, plan.parts,
                                             part_k, levels=levels)
    coarse = np.full(cg.n, -1)
    next_label = 0
    label_part = []
    for p in np.flatnonzero(part_k > 0):
        nodes = np.flatnonzero(cparts == p)
        coarse[nodes] = bisect_split(cg, nodes, int(part_k[p]), cxy, cw, rng,
                                     tolerance=tolerance, turn=turn) + next_label
        next_label += int(part_k[p])
        label_part += [p] * int(part_k[p])
    label_part = np.asarray(label_part, dtype=int)
    if cg.n < plan.graph.n:  # refine the clusters: whole blocks move, borders stay on roads
        _refine_level(cg, coarse, cw, cparts, label_part, plan, tolerance, band=2.0)
        # and on every finer level on the way back (multilevel uncoarsening, as in
        # METIS): moves of mid-sized blocks fix what the coarsest level could not
        for cluster, g, w, p in reversed(levels[1:]):
            coarse = coarse[cluster]
            _refine_level(g, coarse, w, p, label_part, plan, tolerance, band=1.0)
        coarse = coarse[levels[0][0]] if levels else coarse[member]
        return coarse, label_part
    return coarse[member], label_part


def _refine_level(graph: Graph, labels, w, parts, label_part, plan: _Plan, tolerance, *,
                  band: float) -> None:
    """Balance and shape moves on one level of the coarsening (in place on ``labels``)."""
    has = labels >= 0
    sub = graph.induced(np.flatnonzero(has))
    target = grid_targets(labels, label_part, parts, plan.part_w, plan.part_k, w)
    ref = Refiner(sub, labels[has], w[has], target, tolerance)
    ref.balance()
    ref.shape(band=band)  # clusters are coarse: allow more band, the units fix it
    ref.balance()
    labels[has] = ref.labels


def _existing_labels(plan: _Plan, ex, messages, code_of_part):
    """Labels from an existing assignment, adjusted to ``plan.part_k`` grids per part.

    Returns (labels, label -> grid id).
    """
    labels, names, label_part = _labels_from_ids(plan.parts, ex, messages, code_of_part)
    _fill_unassigned(plan, labels, names, label_part, code_of_part)
    labels, _ = repair(plan.graph, labels)
    _match_part_counts(plan, labels, names, messages)
    used = np.unique(labels)
    remap = np.full(len(names), -1)
    remap[used] = np.arange(len(used))
    return remap[labels], [names[i] for i in used]


def _labels_from_ids(parts, ex, messages, code_of_part):
    """One label per (part, existing grid id); a grid found in two parts is split, renamed."""
    ex = pd.Series(ex).astype("string")
    key = pd.Series(parts).astype(str) + "\x00" + ex.fillna("\x01").astype(str)
    labels = np.full(len(parts), -1)
    names: list[str] = []
    label_part: list[int] = []
    has = ex.notna().to_numpy()
    codes, uniq = pd.factorize(key[has])
    labels[has] = codes
    for u in uniq:
        p, gid = u.split("\x00")
        names.append(gid)
        label_part.append(int(p))
    seen: dict[str, int] = {}
    for i, gid in enumerate(names):  # a grid found in two villages/parts: split it, rename
        seen[gid] = seen.get(gid, 0) + 1
        if seen[gid] > 1:
            new = f"{gid}.{seen[gid]}"
            _warn(messages, f"existing grid {gid!r} lies in several villages or village parts: "
                            f"its piece in village {code_of_part[label_part[i]]!r} becomes {new!r}")
            names[i] = new
    return labels, names, label_part


def _fill_unassigned(plan: _Plan, labels, names, label_part, code_of_part) -> None:
    """Units with no grid join the neighbouring grid they share most border with (in place).

    A part with no assigned unit at all is split afresh into new grids.
    """
    graph, parts = plan.graph, plan.parts
    while (labels < 0).any():
        free = labels < 0
        a = np.concatenate([graph.eu, graph.ev])
        b = np.concatenate([graph.ev, graph.eu])
        s = np.concatenate([graph.shared, graph.shared])
        sel = free[a] & ~free[b]
        if not sel.any():
            p = parts[np.flatnonzero(free)[0]]
            nodes = np.flatnonzero(parts == p)
            sub = bisect_split(graph, nodes, max(1, plan.part_k[p]), plan.xy, plan.w, plan.rng)
            for j in range(int(sub.max()) + 1):
                labels[nodes[sub == j]] = len(names)
                names.append(f"{code_of_part[p]}-new{j + 1}")
                label_part.append(int(p))
            continue
        df = pd.DataFrame({"u": a[sel], "lab": labels[b[sel]], "s": s[sel]})
        best = df.groupby(["u", "lab"])["s"].sum().reset_index().sort_values(
            ["u", "s"], ascending=[True, False]).drop_duplicates("u")
        labels[best["u"].to_numpy()] = best["lab"].to_numpy()


def _match_part_counts(plan: _Plan, labels, names, messages) -> None:
    """Merge the lightest or split the heaviest grid until each part has its grids (in place)."""
    graph, parts, weight = plan.graph, plan.parts, plan.w
    for p in np.unique(parts):
        want = int(plan.part_k[p])
        while True:
            labs = np.unique(labels[parts == p])
            if len(labs) == want or want == 0:
                break
            lw = np.bincount(labels, weights=weight, minlength=len(names))
            if len(labs) > want:  # merge the lightest grid into its lightest neighbour
                small = labs[np.argmin(lw[labs])]
                mask = (labels[graph.eu] == small) ^ (labels[graph.ev] == small)
                other = np.unique(np.concatenate([labels[graph.eu[mask]], labels[graph.ev[mask]]]))
                other = other[other != small]
                into = other[np.argmin(lw[other])]
                labels[labels == small] = into
                _warn(messages, f"existing grid {names[small]!r} merged into {names[into]!r} "
                                "to reach the number of grids asked for")
            else:  # split the heaviest grid in two
                big = labs[np.argmax(lw[labs])]
                nodes = np.flatnonzero(labels == big)
                if len(nodes) < 2:
                    raise PartitionError(f"cannot split grid {names[big]!r} further (one unit)")
                sub = bisect_split(graph, nodes, 2, plan.xy, weight, plan.rng)
                labels[nodes[sub == 1]] = len(names)
                names.append(f"{names[big]}.new{len(names)}")


def _grid_names(nest_codes, geoms, nest_by) -> list[str]:
    """The grids' ids, numbered west to east, north to south in each village.

    The standard 15-digit code (12-digit village code + 3-digit sequence) where
    the village has a 12-digit code; else ``{village}-{seq:03d}``; ``G001`` ...
    without nesting (see :func:`gridkit.grids.naming.grid_ids`).
    """
    return grid_ids(nest_codes, geoms, nested=bool(nest_by))


def _dissolve(geoms: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    out = np.empty(k, dtype=object)
    for i in range(k):
        part = geoms[order[bounds[i]:bounds[i + 1]]]
        g = shapely.coverage_union_all(part)
        if not shapely.is_valid(g):  # units that are not a clean coverage
            g = shapely.union_all(part)
        out[i] = g
    return out


def _build_outputs(job: _Units, edges: _Edges, lab: _Labelling, messages: list[str], *,
                   unit_mean, floor, total_mode: bool):
    """The grids, the assignment and the report's figures (findings go to ``messages``)."""
    labels = lab.labels
    k = int(labels.max()) + 1
    g_group = np.zeros(k, dtype=int)
    g_group[labels] = job.group
    table = _grid_table(job, lab, k, g_group)
    names = np.asarray(table["grid_id"].to_numpy(), dtype=object)
    gw, deviation = table["weight"].to_numpy(), table["deviation"].to_numpy()
    assignment, moved, kept = _assignment(job, names[labels])
    bound = _heavy_units(job, unit_mean, floor, messages)
    off = _off_target(names, deviation, job.tolerance, messages)
    per_village = _village_table(job, job.codes[g_group], gw, total_mode, messages)
    mean = gw.sum() / k
    stats = dict(
        k=k, mean=float(mean), tolerance=job.tolerance,
        max_over_mean=float(gw.max() / mean) if mean > 0 else float("nan"),
        min_over_mean=float(gw.min() / mean) if mean > 0 else float("nan"),
        max_deviation=float(np.abs(deviation).max()), bound=bound,
        within_tolerance=bool(len(off) == 0), moved=moved, kept=kept,
        road_share=_road_share(edges, labels),
        mean_polsby_popper=float(np.nanmean(table["polsby_popper"].to_numpy())),
        villages=per_village,
    )
    grids = table.sort_values("grid_id", kind="stable").reset_index(drop=True)
    crs = job.checked.crs
    grids = to_crs(grids, crs) if grids.crs != crs else grids  # densified: edges stay shared
    return grids, assignment, stats


def _grid_table(job: _Units, lab: _Labelling, k: int, g_group) -> gpd.GeoDataFrame:
    """One dissolved polygon per grid with its figures, in label order (metric CRS)."""
    labels, metric = lab.labels, job.metric
    dissolved = _dissolve(np.asarray(metric.geometry.values), labels, k)
    gw = np.bincount(labels, weights=job.w, minlength=k)
    names = lab.names
    if names is None:
        names = _grid_names(job.codes[g_group], dissolved, job.nest_by)
    target = lab.target[:k]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(target > 0, gw / target - 1.0, 0.0)
    contiguous = np.ones(k, dtype=bool)
    contiguous[list(lab.attached)] = False
    grids = gpd.GeoDataFrame({
        "grid_id": np.asarray(names, dtype=object),
        "village_code": _village_codes(job, labels, k, g_group),
        "weight": gw,
        "target": target,
        "deviation": deviation,
        "units": np.bincount(labels, minlength=k),
        "area_m2": shapely.area(dissolved),
        "perimeter_m": shapely.length(dissolved),
        "polsby_popper": polsby_popper_values(dissolved),
        "inertia_index": inertia_values(dissolved),
        "contiguous": contiguous,
    }, geometry=dissolved, crs=metric.crs)
    if job.nest_by and job.nest_by != "village_code":
        grids.insert(2, job.nest_by, job.codes[g_group])
    return grids


def _village_codes(job: _Units, labels, k: int, g_group):
    """Each grid's village: its nest group's code, else its first unit's ``village_code``."""
    if job.nest_by:
        return job.codes[g_group]
    if "village_code" not in job.metric.columns:
        return None
    codes = job.metric["village_code"].astype(str).groupby(labels).first()
    return codes.reindex(range(k)).to_numpy()


def _assignment(job: _Units, grid_ids):
    """The input units with ``grid_id`` (and ``moved``); units moved and kept, or None."""
    checked = job.checked
    assignment = checked.copy()
    assignment["grid_id"] = grid_ids
    if job.existing is None:
        return assignment, None, None
    before = checked[job.existing].astype("string")
    changed = (before.notna() & (before != assignment["grid_id"])).fillna(False).to_numpy()
    assignment["moved"] = changed
    return assignment, int(changed.sum()), int((before.notna() & ~changed).sum())


def _heavy_units(job: _Units, unit_mean, floor, messages: list[str]) -> float:
    """Say which units weigh more than their village's mean grid (alone or with the
    units only they connect to the rest, ``floor``); the granularity bound."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(unit_mean > 0, job.w / unit_mean, 0.0)
        with_enclosed = np.where(unit_mean > 0, floor / unit_mean, 0.0)
    heavy = np.flatnonzero(with_enclosed > 1 + job.tolerance)
    ids = job.checked[job.id_column]
    for i in heavy[np.argsort(-with_enclosed[heavy], kind="stable")][:5]:
        more = "" if with_enclosed[i] <= ratio[i] + 1e-9 else (
            f", {with_enclosed[i]:.1f}x with the units only it connects to the rest of its "
            "village")
        _warn(messages, f"unit {ids.astype(object).iloc[i]!r} weighs {ratio[i]:.1f}x the mean grid "
                        f"weight of its village ({unit_mean[i]:,.1f}){more}: its grid is above "
                        "the mean whatever the plan; split the unit if that is too much for one "
                        "person")
    if len(heavy) > 5:
        messages.append(f"... and {len(heavy) - 5} more unit(s) heavier than their "
                        "village's mean grid")
    return float(max(0.0, with_enclosed.max(initial=0.0) - 1.0))


def _off_target(names, deviation, tolerance: float, messages: list[str]) -> np.ndarray:
    """The grids outside the tolerance of their target (the worst one said in words)."""
    off = np.flatnonzero(np.abs(deviation) > tolerance + 1e-9)
    if len(off):
        worst = off[np.argmax(np.abs(deviation[off]))]
        _warn(messages, f"{len(off)} grid(s) outside ±{tolerance:.0%} of their target; worst "
                        f"{names[worst]} at {deviation[worst]:+.1%} (no single-unit move brings it "
                        "closer without breaking a grid apart: coarse or heavy units)")
    return off


def _village_table(job: _Units, village, gw, total_mode: bool, messages: list[str]):
    """Per village: weight, grids, units, mean grid weight and its deviation from the
    overall mean; villages whose whole-grid allocation is off that mean are said."""
    codes, tolerance = job.codes, job.tolerance
    mean = gw.sum() / len(gw)
    per_village = pd.DataFrame({"village": village, "weight": gw, "grids": 1})
    per_village = per_village.groupby("village").sum()
    per_village["units"] = pd.Series(np.bincount(job.group, minlength=len(codes)), index=codes)
    per_village["mean"] = per_village["weight"] / per_village["grids"]
    per_village["vs_overall"] = per_village["mean"] / mean - 1 if mean > 0 else 0.0
    for v, row in per_village.iterrows():
        if (total_mode and abs(row["vs_overall"]) > tolerance and row["weight"] > 0
                and len(codes) > 1):
            messages.append(f"village {v!r}: {int(row['grids'])} grid(s) of mean "
                            f"{row['mean']:,.1f}, {row['vs_overall']:+.1%} off the overall mean "
                            "(whole grids per village)")
    return per_village.reset_index()


def _road_share(edges: _Edges, labels) -> float:
    """Share of the length of the borders between grids that runs along roads."""
    cross = labels[edges.ea] != labels[edges.eb]
    shared, road = edges.shared, edges.road
    if road is None or not shared[cross].sum() > 0:
        return float("nan")
    return float(road[cross].sum() / shared[cross].sum())
