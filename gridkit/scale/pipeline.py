"""Unit building and partition per town (or village) in parallel on dask.

Units and grids never cross a village boundary (the nesting rule), so a
province's towns are independent problems. :func:`build_units_distributed`
and :func:`partition_distributed` split the input by town (the first nine
digits of the 12-digit village code: county + town) or by village, run
:func:`gridkit.build_units` / :func:`gridkit.grids.partition` on each group as one
dask task, and merge the results into the same types the single-machine
functions return:

- units: each group's territory is the union of the faces that the village
  boundaries cut from the jurisdiction and that belong to its villages (the
  same rule :func:`gridkit.build_units` uses), so the groups tile the
  jurisdiction exactly; each task gets only the roads, barriers, buildings
  and entities touching its territory. A building straddling two groups is
  measured in both and kept in the unit holding most of its area (the
  single-machine rule); an entity goes to the first group containing it.
  ``unit_id`` is renumbered 0..n-1 by group code, then local id.
- grids: the number of grids per group is decided centrally with the same
  allocation :func:`gridkit.grids.partition` uses per village (largest remainder,
  exactly ``k`` in all); grid ids (``{village}-{seq}``) are unique because
  every village lies in one group. The report is recomputed over all grids.

Where work runs is chosen by ``scheduler`` (see :mod:`gridkit.scale._dask`):
``None`` starts a local cluster, an address or ``distributed.Client`` uses an
existing cluster, ``"synchronous"`` runs in this process.
"""

from __future__ import annotations

import logging
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import crs_label, to_crs
from gridkit.errors import GridkitWarning, InvalidValueError, MissingColumnError
from gridkit.grids.partition import Partition
from gridkit.layers import load_layers
from gridkit.scale import _groups as groups
from gridkit.scale._dask import check_scheduler, run_tasks
from gridkit.units.build import AREA_TOLERANCE, UnitsResult
from gridkit.units.noding import MAX_CROSSINGS, check_crossings
from gridkit.units.plan import check_options, cutting_roads, jurisdiction_shape, village_boundaries
from gridkit.workload import Policy, classify_entities, load_policy

__all__ = ["build_units_distributed", "partition_distributed", "GROUP_LEVELS"]

log = logging.getLogger(__name__)

#: Values of ``by``: the level whose members run as one task.
GROUP_LEVELS = ("town", "village")

_UNITS_OPTIONS = frozenset({"road_classes", "cut_tunnels", "snap_tolerance", "min_area",
                            "min_width", "max_area", "max_workload", "max_crossings"})
_PARTITION_OPTIONS = frozenset({"per_village", "nest_by", "existing", "seed", "tolerance",
                                "adjacency", "road_weight", "id_column", "fixed", "exact",
                                "time_limit"})

#: Worker warnings re-emitted one by one on the client; the rest are summed up.
_MAX_WARNINGS = 5


def _group_codes(codes: pd.Series, by: str, what: str) -> np.ndarray:
    if by not in GROUP_LEVELS:
        raise InvalidValueError(f"by must be one of {GROUP_LEVELS}, got {by!r}")
    codes = codes.astype(str)
    if by == "village":
        return codes.to_numpy()
    short = codes.str.len() < groups.TOWN_DIGITS
    if short.any():
        bad = codes[short].head(3).tolist()
        raise InvalidValueError(
            f"{what}: by='town' takes the town from the first {groups.TOWN_DIGITS} characters "
            f"of the 12-digit village code, but {int(short.sum())} code(s) are shorter "
            f"(e.g. {bad}); use by='village' or give standard codes"
        )
    return codes.str[:groups.TOWN_DIGITS].to_numpy()


def _emit(messages: list[str], what: str) -> None:
    for text in messages[:_MAX_WARNINGS]:
        warnings.warn(text, GridkitWarning, stacklevel=3)
    if len(messages) > _MAX_WARNINGS:
        warnings.warn(f"... and {len(messages) - _MAX_WARNINGS} more warning(s) from other "
                      f"groups; see {what}", GridkitWarning, stacklevel=3)


# --------------------------------------------------------------------------- units


def build_units_distributed(
    roads,
    jurisdiction,
    *,
    villages,
    by: str = "town",
    scheduler=None,
    barriers=None,
    buildings=None,
    entities=None,
    policy: Policy | str | None = None,
    crs=None,
    strict: bool = False,
    **build_units_options,
) -> UnitsResult:
    """:func:`gridkit.build_units`, one dask task per town (or village).

    Parameters
    ----------
    roads, jurisdiction, barriers, buildings, entities, policy, crs, strict
        As for :func:`gridkit.build_units`.
    villages
        Village polygons with a unique ``code`` (required: the groups are
        made of villages).
    by
        ``"town"``: villages whose codes share the first nine digits (county
        + town, the 12-digit statistical code) run as one task;
        ``"village"``: one task per village.
    scheduler
        ``None`` starts a ``distributed.LocalCluster`` (closed afterwards);
        a ``distributed.Client``; a scheduler address such as
        ``"tcp://10.0.0.5:8786"``; or a dask scheduler name
        (``"synchronous"``, ``"threads"``, ``"processes"``).
    **build_units_options
        ``road_classes``, ``cut_tunnels``, ``snap_tolerance``, ``min_area``,
        ``min_width``, ``max_area``, ``max_workload``, ``max_crossings`` as for
        :func:`gridkit.build_units` (the crossing check runs once, on the whole
        layer, before any task starts).

    Returns
    -------
    UnitsResult
        As from :func:`gridkit.build_units`; ``report`` adds ``groups``
        (number of tasks), ``by``, ``buildings_in_several_groups`` and
        ``warnings`` (every warning of the tasks, prefixed with the group).

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> res = build_units_distributed(s["roads"], s["jurisdiction"], villages=s["villages"],
    ...                               entities=s["entities"], by="village",
    ...                               scheduler="synchronous")
    >>> res.report["groups"], int(res.units["entities"].sum()) == len(s["entities"])
    (5, True)
    """
    started = time.perf_counter()
    check_scheduler(scheduler)
    unknown = sorted(set(build_units_options) - _UNITS_OPTIONS)
    if unknown:
        raise TypeError(f"build_units_distributed() got unexpected option(s) {unknown}; "
                        f"build_units options are {sorted(_UNITS_OPTIONS)}")
    check_options(build_units_options.get("snap_tolerance", 1.0),
                   build_units_options.get("min_area", 100.0),
                   build_units_options.get("min_width", 3.0),
                   build_units_options.get("max_area"), build_units_options.get("max_workload"))
    if villages is None:
        raise InvalidValueError("villages: required by build_units_distributed (the tasks are "
                                "made of villages); use gridkit.build_units without villages")
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    layers = load_layers(roads=roads, jurisdiction=jurisdiction, villages=villages,
                         barriers=barriers, buildings=buildings, entities=entities,
                         crs=crs, strict=strict)
    road_gdf, v_gdf = layers["roads"], layers["villages"]
    bar_gdf, b_gdf, e_gdf = (layers.get(k) for k in ("barriers", "buildings", "entities"))
    if "code" not in v_gdf.columns:
        raise MissingColumnError("villages: no 'code' column; give every village its code")
    cutting = cutting_roads(road_gdf, build_units_options.get("road_classes"),
                             build_units_options.get("cut_tunnels", False))
    check_crossings(np.asarray(road_gdf.geometry.values)[cutting],
                    build_units_options.get("max_crossings", MAX_CROSSINGS))
    group_of_village = _group_codes(v_gdf["code"], by, "villages")
    area = jurisdiction_shape(layers["jurisdiction"])
    plan = groups.plan_groups(area, v_gdf, group_of_village)
    clock = {"regions": round(time.perf_counter() - started, 3)}
    log.info("units: %d %s group(s)", len(plan.codes), by)

    jobs = groups.unit_jobs(plan, road=road_gdf, cutting=cutting, barriers=bar_gdf,
                            buildings=b_gdf, entities=e_gdf, crs=layers.crs,
                            # crossings were checked above, once for the whole layer
                            options={**build_units_options, "policy": policy,
                                     "max_crossings": None})
    t = time.perf_counter()
    results = run_tasks(groups.run_unit_job, [j.payload for j in jobs], scheduler,
                        desc=f"units per {by}", unit=by)
    clock["tasks"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    merged = groups.merge_units(jobs, results, area=area, crs=layers.crs,
                                buildings=b_gdf, entities=e_gdf, policy=policy,
                                classify=classify_entities)
    clock["merge"] = round(time.perf_counter() - t, 3)
    units, b_out, e_out, unassigned, report = merged
    # the lines build_units nodes: cutting roads, village boundaries, barriers
    lines = [np.asarray(road_gdf.geometry.values)[cutting], village_boundaries(v_gdf)]
    if bar_gdf is not None:
        lines.append(np.asarray(bar_gdf.geometry.values))
    lines = np.concatenate(lines)
    shapely.prepare(area)
    touching = shapely.intersects(area, lines)
    report.update(working_crs=crs_label(layers.crs), by=by, groups=len(jobs),
                  roads_not_cutting=int((~cutting).sum()),
                  lines_outside=int((~touching).sum()),
                  lines_clipped=int((touching & ~shapely.covers(area, lines)).sum()),
                  area_tolerance_m2=AREA_TOLERANCE * area.length)
    report["area_error_m2"] = abs(report["area_units_m2"] - area.area)
    if len(jobs) > 1:  # the tasks got villages cut to their territory: the plan measured these
        report.update(area_outside_villages_m2=plan.outside_m2,
                      area_in_several_villages_m2=plan.overlap_m2)
        _village_warnings(plan, report["area_tolerance_m2"])
    report["seconds"] = {**clock, "total": round(time.perf_counter() - started, 3)}
    _emit(report["warnings"], "result.report['warnings']")
    if report["area_error_m2"] > report["area_tolerance_m2"] or not report["coverage_valid"]:
        warnings.warn(f"units: the units do not tile the jurisdiction exactly (area error "
                      f"{report['area_error_m2']:.3g} m², coverage valid: "
                      f"{report['coverage_valid']}); please report this with your data",
                      GridkitWarning, stacklevel=2)
    missing = report["buildings_outside"] + report["entities_outside"]
    if missing:
        warnings.warn(
            f"{report['buildings_outside']} building(s) and {report['entities_outside']} "
            "entit(y/ies) lie outside the jurisdiction: they are in the result's `unassigned` "
            "layer, not in any unit", GridkitWarning, stacklevel=2)
    out_crs = layers.input_crs
    log.info("units (distributed): %s", report)
    return UnitsResult(
        units=to_crs(units, out_crs),  # densified, as build_units writes them
        buildings=None if b_out is None else b_out.to_crs(out_crs),
        entities=None if e_out is None else e_out.to_crs(out_crs),
        unassigned=unassigned.to_crs(out_crs), report=report, crs=layers.crs)


def _village_warnings(plan, tolerance: float) -> None:
    """build_units' warnings about the villages layer, for the whole jurisdiction."""
    if plan.overlap_m2 > tolerance:
        warnings.warn(
            f"villages: {plan.overlap_m2:.1f} m² lie in more than one village; those pieces "
            "went to the first village in the layer (fix the village boundaries so they do "
            "not overlap)", GridkitWarning, stacklevel=3)
    if plan.outside_m2 > tolerance:
        warnings.warn(
            f"villages: {plan.outside_m2:.1f} m² of the jurisdiction lie in no village; those "
            "pieces went to the village holding most of their area, or the nearest (make the "
            "villages cover the jurisdiction to avoid this)", GridkitWarning, stacklevel=3)


# --------------------------------------------------------------------------- partition


def partition_distributed(
    units: gpd.GeoDataFrame,
    weight,
    *,
    k: int | None = None,
    target: float | None = None,
    capacity: float | None = None,
    by: str = "town",
    scheduler=None,
    **partition_options,
) -> Partition:
    """:func:`gridkit.grids.partition`, one dask task per town (or village).

    Parameters
    ----------
    units, weight, k, target, capacity
        As for :func:`gridkit.grids.partition`. With ``k`` or ``target`` the total
        is split over the groups on the client, exactly as
        :func:`gridkit.grids.partition` splits it over villages (then summed per
        group), so the total is exactly ``k``; each group then splits its
        share over its own villages with the same rule.
    by
        ``"town"`` (the first nine characters of the nesting code) or
        ``"village"`` (the nesting code itself).
    scheduler
        As for :func:`build_units_distributed`.
    **partition_options
        ``per_village``, ``nest_by`` (default ``"village_code"``; must not be
        ``None``), ``existing``, ``seed``, ``tolerance``, ``adjacency``,
        ``road_weight``, ``id_column`` as for :func:`gridkit.grids.partition`.

    Returns
    -------
    Partition
        ``.grids`` sorted by ``grid_id``, ``.assignment`` in the input's row
        order, ``.report`` with the figures recomputed over all grids.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame(
    ...     {"unit_id": range(16), "village_code": ["a"] * 8 + ["b"] * 8,
    ...      "households": [10] * 16},
    ...     geometry=[box(i % 4, i // 4, i % 4 + 1, i // 4 + 1) for i in range(16)],
    ...     crs=3857)
    >>> result = partition_distributed(cells, "households", k=4, by="village",
    ...                                scheduler="synchronous")
    >>> result.grids["grid_id"].tolist()
    ['a-001', 'a-002', 'b-001', 'b-002']
    """
    started = time.perf_counter()
    check_scheduler(scheduler)
    unknown = sorted(set(partition_options) - _PARTITION_OPTIONS)
    if unknown:
        raise TypeError(f"partition_distributed() got unexpected option(s) {unknown}; "
                        f"partition options are {sorted(_PARTITION_OPTIONS)}")
    nest_by = partition_options.get("nest_by", "village_code")
    if not nest_by:
        raise InvalidValueError("nest_by=None: partition_distributed splits the work by the "
                                "nesting column; use gridkit.grids.partition without nesting")
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidValueError(f"units: expected a GeoDataFrame, got {type(units).__name__}")
    if nest_by not in units.columns:
        raise MissingColumnError(f"units: no nesting column {nest_by!r}; give every unit its "
                                 "village (build_units adds village_code)")
    if units[nest_by].isna().any():
        raise InvalidValueError(f"units: {int(units[nest_by].isna().sum())} unit(s) without "
                                f"{nest_by!r}; give every unit its village")
    group = _group_codes(units[nest_by], by, "units")
    counts = groups.group_grid_counts(units, weight, group, k=k, target=target,
                                      capacity=capacity, options=partition_options)
    jobs = groups.partition_jobs(units, weight, group, counts, k=k, target=target,
                                 capacity=capacity, options=partition_options)
    results = run_tasks(groups.run_partition_job, [j.payload for j in jobs], scheduler,
                        desc=f"partition per {by}", unit=by)
    grids, assignment, report = groups.merge_partitions(
        units, jobs, results, options=partition_options,
        seconds=time.perf_counter() - started)
    if report.warnings:
        more = f" (and {len(report.warnings) - 1} more)" if len(report.warnings) > 1 else ""
        warnings.warn(f"partition: {report.warnings[0]}{more}; see result.report.warnings",
                      GridkitWarning, stacklevel=2)
    log.info("partition (distributed, %d groups): %s", len(jobs),
             report.summary().replace("\n", "; "))
    return Partition(grids=grids, assignment=assignment, report=report)

