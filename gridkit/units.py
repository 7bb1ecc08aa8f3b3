"""Basic units: the small indivisible pieces grids are built from.

:func:`build_units` cuts the jurisdiction along roads, barriers (rivers,
railways) and village boundaries, merges slivers, optionally splits units
that are too large or too heavy, assigns buildings and entities, and measures
the work each unit carries (see :mod:`gridkit.workload`).

The units tile the jurisdiction: their union equals it and they do not
overlap (``shapely.coverage_is_valid`` holds). "Equals" is up to the 1 mm
snap-rounding grid of the noding: the area difference is at most
:data:`AREA_TOLERANCE` (1 mm) times the jurisdiction's perimeter, i.e. a
strip one millimetre wide along the outline. Every unit lies in exactly one
village.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit._errors import GridkitError, GridkitWarning, MissingColumnError
from gridkit._units_assign import (
    assign_buildings,
    assign_points,
    road_pieces,
    street_length,
    village_of,
)
from gridkit._units_noding import GRID_SIZE, node_and_polygonize
from gridkit._units_slivers import merge_slivers
from gridkit._units_split import renode, split_unit
from gridkit.adjacency import unit_adjacency
from gridkit.layers import load_layers
from gridkit.workload import REGIMES, Policy, classify_entities, load_policy, patrol_minutes

__all__ = [
    "AREA_TOLERANCE",
    "UNIT_COLUMNS",
    "NO_VILLAGE_CODE",
    "UnitsError",
    "UnitsResult",
    "build_units",
    "unit_adjacency",
]

log = logging.getLogger(__name__)

AREA_TOLERANCE = GRID_SIZE
"""Width (m) of the outline strip within which the units may differ from the jurisdiction:
the area tolerance is ``AREA_TOLERANCE * perimeter`` m²."""

NO_VILLAGE_CODE = "0"
"""``village_code`` of every unit when no villages layer is given."""

UNIT_COLUMNS = (
    "unit_id", "village_code", "area_m2", "buildings", "households", "entities",
    "entities_risk1", "entities_risk2", "entities_risk3",
    "entities_key", "entities_general", "entities_exempt",
    "street_length_m", "visit_min", "patrol_min", "workload_min",
)


class UnitsError(GridkitError):
    """The units cannot be built as asked (bad option, unusable layers)."""


@dataclass
class UnitsResult:
    """What :func:`build_units` produced, in the CRS of the ``roads`` input.

    Attributes
    ----------
    units
        One polygon per unit with :data:`UNIT_COLUMNS`.
    buildings
        The buildings (``None`` when not given) with ``unit_id`` (nullable:
        ``<NA>`` outside the jurisdiction) and ``unit_share`` (the share of
        the footprint in that unit; a building is never split).
    entities
        The entities (``None`` when not given) with ``unit_id``, ``regime``,
        ``visits_per_month`` and ``minutes_per_visit``.
    unassigned
        Buildings and entities outside every unit: ``layer``, ``index`` (the
        row label in the input) and ``geometry``. Never dropped silently:
        a :class:`GridkitWarning` says how many.
    report
        Counts and checks: faces, slivers merged and left, units split, the
        area check, lines outside or clipped, snapped dangle ends, features
        assigned and outside.
    crs
        The metric working CRS used for the geometry.
    """

    units: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None
    entities: gpd.GeoDataFrame | None
    unassigned: gpd.GeoDataFrame
    report: dict = field(default_factory=dict)
    crs: CRS | None = None

    def summary(self) -> str:
        r = self.report
        return (f"{r['units']} units in {r['villages']} village(s); area error "
                f"{r['area_error_m2']:.3g} m²; {r['slivers_merged']} slivers merged, "
                f"{r['units_split']} units split; {r['buildings_assigned']} buildings and "
                f"{r['entities_assigned']} entities assigned, "
                f"{r['buildings_outside'] + r['entities_outside']} outside")


def _check_options(snap_tolerance, min_area, min_width, max_area, max_workload) -> None:
    for name, value in (("snap_tolerance", snap_tolerance), ("min_area", min_area),
                        ("min_width", min_width)):
        if value is None or not np.isfinite(value) or value < 0:
            raise UnitsError(f"`{name}` must be a number >= 0 (metres or m²), got {value!r}")
    for name, value in (("max_area", max_area), ("max_workload", max_workload)):
        if value is not None and (not np.isfinite(value) or value <= 0):
            raise UnitsError(f"`{name}` must be a positive number or None, got {value!r}")
    if max_area is not None and max_area <= 2 * min_area:
        raise UnitsError(
            f"`max_area` ({max_area}) must be more than twice `min_area` ({min_area}): "
            "split pieces would be slivers"
        )


def _cutting_roads(roads: gpd.GeoDataFrame, road_classes) -> np.ndarray:
    """Mask of the roads that cut units."""
    if road_classes is None:
        return np.ones(len(roads), dtype=bool)
    if isinstance(road_classes, str):
        road_classes = [road_classes]
    if "road_class" not in roads.columns:
        raise MissingColumnError(
            "roads: `road_classes` was given but the layer has no 'road_class' column; "
            "rename the class column to 'road_class' or leave `road_classes` unset"
        )
    wanted = set(road_classes)
    present = set(roads["road_class"].dropna().astype(str))
    absent = sorted(wanted - present)
    if absent:
        warnings.warn(f"roads: road class(es) {absent} do not occur; the layer has "
                      f"{sorted(present)[:20]}", GridkitWarning, stacklevel=3)
    mask = roads["road_class"].astype(str).isin(wanted).to_numpy()
    if not mask.any():
        raise UnitsError(f"roads: no road has a class in road_classes={sorted(wanted)}")
    return mask


def _jurisdiction_shape(jurisdiction: gpd.GeoDataFrame):
    shape = shapely.union_all(jurisdiction.geometry.values)
    return shapely.make_valid(shape) if not shape.is_valid else shape


def _village_boundaries(villages: gpd.GeoDataFrame | None) -> np.ndarray:
    if villages is None:
        return np.empty(0, dtype=object)
    return shapely.get_parts(shapely.boundary(villages.geometry.values))


def _unit_workload(
    units: np.ndarray,
    *,
    streets: dict,
    building_geoms: np.ndarray | None = None,
    households: np.ndarray | None = None,
    entities: pd.DataFrame | None = None,
    entity_geoms: np.ndarray | None = None,
    policy: Policy,
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Count and workload columns for unit polygons (metric CRS arrays).

    ``streets`` holds the arguments of :func:`street_length` but the units.

    ``entities`` must already be classified (:func:`classify_entities`).
    Returns ``(columns, building_unit, building_share, entity_unit)``; unit
    positions are ``-1`` outside.
    """
    n = len(units)
    cols: dict[str, np.ndarray] = {"area_m2": shapely.area(units)}
    b_unit = b_share = e_unit = None
    if building_geoms is not None:
        b_unit, b_share = assign_buildings(units, building_geoms)
        ok = b_unit >= 0
        cols["buildings"] = np.bincount(b_unit[ok], minlength=n)
        hh = np.zeros(len(building_geoms)) if households is None else households
        cols["households"] = np.bincount(b_unit[ok], weights=hh[ok], minlength=n)
        if np.all(np.mod(hh, 1) == 0):  # whole households stay integers
            cols["households"] = np.rint(cols["households"]).astype(np.int64)
    else:
        cols["buildings"] = np.zeros(n, dtype=np.int64)
        cols["households"] = np.zeros(n, dtype=np.int64)
    if entities is not None:
        e_unit = assign_points(units, entity_geoms)
        ok = e_unit >= 0
        u = e_unit[ok]
        cols["entities"] = np.bincount(u, minlength=n)
        risk = pd.to_numeric(entities["risk"], errors="coerce").to_numpy()[ok] \
            if "risk" in entities.columns else np.full(ok.sum(), np.nan)
        for r in (1, 2, 3):
            cols[f"entities_risk{r}"] = np.bincount(u[risk == r], minlength=n)
        regime = entities["regime"].to_numpy()[ok]
        for name in REGIMES:
            cols[f"entities_{name}"] = np.bincount(u[regime == name], minlength=n)
        minutes = (entities["visits_per_month"] * entities["minutes_per_visit"]).to_numpy()[ok]
        cols["visit_min"] = np.bincount(u, weights=minutes, minlength=n)
    else:
        for name in ["entities"] + [f"entities_risk{r}" for r in (1, 2, 3)] + \
                [f"entities_{g}" for g in REGIMES]:
            cols[name] = np.zeros(n, dtype=np.int64)
        cols["visit_min"] = np.zeros(n)
    cols["street_length_m"] = street_length(units, **streets)
    cols["patrol_min"] = patrol_minutes(cols["street_length_m"], policy)
    cols["workload_min"] = cols["visit_min"] + cols["patrol_min"]
    return pd.DataFrame(cols), b_unit, b_share, e_unit


def _split_heavy(polys, village, state, *, streets, building_geoms, households, entities,
                 entity_geoms, policy, max_area, max_workload, passes: int = 3):
    """Split units above ``max_area`` / ``max_workload``.

    ``state`` is ``(metrics, b_unit, b_share, e_unit)`` for ``polys``; only the
    new pieces are measured again. Returns ``(polys, village, state, count)``.
    """
    metrics, b_unit, b_share, e_unit = state
    visit = None if entities is None else \
        (entities["visits_per_month"] * entities["minutes_per_visit"]).to_numpy()
    split_count = 0
    for _ in range(passes):
        need = np.zeros(len(polys))
        if max_area is not None:
            need = np.maximum(need, metrics["area_m2"].to_numpy() / max_area)
        if max_workload is not None:
            need = np.maximum(need, metrics["workload_min"].to_numpy() / max_workload)
        heavy = np.flatnonzero(need > 1.0)
        if len(heavy) == 0:
            break
        b_of = _members(b_unit, heavy)
        e_of = _members(e_unit, heavy)
        new_polys, new_village, affected = [], [], []
        for i in heavy:  # only the heavy units: few compared with all units
            k = int(np.ceil(need[i]))
            area_w = (metrics["area_m2"].iat[i] / max_area if max_area else 0.0) + \
                     (metrics["patrol_min"].iat[i] / max_workload if max_workload else 0.0)
            b_in, e_in = b_of.get(i, _NONE), e_of.get(i, _NONE)
            bgeoms = building_geoms[b_in] if len(b_in) else np.empty(0, dtype=object)
            # an entity's work weighs on the building nearest to it
            bw = np.zeros(len(b_in))
            if len(e_in) and max_workload:
                ew = visit[e_in] / max_workload
                if len(b_in):
                    _, near = shapely.STRtree(bgeoms).query_nearest(entity_geoms[e_in],
                                                                    all_matches=False)
                    bw = np.bincount(near, weights=ew, minlength=len(b_in))
                else:
                    area_w += ew.sum()
            pieces = split_unit(polys[i], k, buildings=bgeoms, building_weight=bw,
                                area_weight=area_w)
            if len(pieces) > 1:
                new_polys.append(pieces)
                new_village.extend([village[i]] * len(pieces))
                affected.append(i)
                split_count += 1
        if not affected:
            break
        affected = np.asarray(affected)
        keep = np.ones(len(polys), dtype=bool)
        keep[affected] = False
        old_n = int(keep.sum())
        remap = np.full(len(polys), -1)
        remap[keep] = np.arange(old_n)
        tree = shapely.STRtree(polys)  # neighbours of the split units take part in re-noding
        _, nb = tree.query(polys[affected], predicate="intersects")
        neighbours = np.setdiff1d(np.unique(nb), affected)
        pieces = np.concatenate([np.asarray(p, dtype=object) for p in new_polys])
        polys = np.concatenate([polys[keep], pieces])
        village = np.concatenate([village[keep], np.array(new_village, dtype=village.dtype)])
        polys = renode(polys, np.r_[remap[neighbours], np.arange(old_n, len(polys))])
        # measure the pieces with the buildings and entities of the split units
        b_sel = None if b_unit is None else np.concatenate([b_of.get(i, _NONE) for i in affected])
        e_sel = None if e_unit is None else np.concatenate([e_of.get(i, _NONE) for i in affected])
        sub, sb_unit, sb_share, se_unit = _unit_workload(
            polys[old_n:], streets=streets,
            building_geoms=None if b_sel is None else building_geoms[b_sel],
            households=None if (b_sel is None or households is None) else households[b_sel],
            entities=None if e_sel is None else entities.iloc[e_sel],
            entity_geoms=None if e_sel is None else entity_geoms[e_sel], policy=policy)
        metrics = pd.concat([metrics[keep], sub], ignore_index=True)
        if b_unit is not None:
            b_unit = np.where(b_unit >= 0, remap[np.maximum(b_unit, 0)], -1)
            b_unit[b_sel] = np.where(sb_unit >= 0, sb_unit + old_n, -1)
            b_share = b_share.copy()
            b_share[b_sel] = sb_share
        if e_unit is not None:
            e_unit = np.where(e_unit >= 0, remap[np.maximum(e_unit, 0)], -1)
            e_unit[e_sel] = np.where(se_unit >= 0, se_unit + old_n, -1)
    if split_count:  # street length is shared with neighbours: measure it again for all
        metrics["street_length_m"] = street_length(polys, **streets)
        metrics["patrol_min"] = patrol_minutes(metrics["street_length_m"].to_numpy(), policy)
        metrics["workload_min"] = metrics["visit_min"] + metrics["patrol_min"]
    return polys, village, (metrics, b_unit, b_share, e_unit), split_count


_NONE = np.empty(0, dtype=np.int64)


def _members(unit: np.ndarray | None, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Positions of the rows assigned to each of the ``wanted`` units."""
    if unit is None:
        return {}
    rows = np.flatnonzero(np.isin(unit, wanted))
    order = np.argsort(unit[rows], kind="stable")
    rows = rows[order]
    keys, starts = np.unique(unit[rows], return_index=True)
    return dict(zip(keys.tolist(), np.split(rows, starts[1:]), strict=True))


def build_units(
    roads,
    jurisdiction,
    *,
    villages=None,
    barriers=None,
    buildings=None,
    entities=None,
    policy: Policy | str | None = None,
    road_classes=None,
    snap_tolerance: float = 1.0,
    min_area: float = 100.0,
    min_width: float = 3.0,
    max_area: float | None = None,
    max_workload: float | None = None,
    crs=None,
    strict: bool = False,
) -> UnitsResult:
    """Cut the jurisdiction into basic units and measure the work in each.

    Parameters
    ----------
    roads
        Road lines (GeoDataFrame or ``PATH[:LAYER]``). All roads count for
        ``street_length_m``; those in ``road_classes`` (default: all) cut.
    jurisdiction
        The territory's outline (one or more polygons).
    villages
        Village polygons with a unique ``code``; their boundaries cut units
        and each unit records the ``village_code`` it lies in. Without
        villages every unit gets :data:`NO_VILLAGE_CODE`.
    barriers
        Rivers, railways: lines that cut units.
    buildings
        Footprints (or points), optional ``households``; each goes whole to
        the unit holding most of its area.
    entities
        Points with ``risk`` (1-3) and ``credit`` (A/B/C); each goes to the
        unit containing it.
    policy
        A :class:`Policy` or a policy file path (default policy when None).
    road_classes
        Road classes (values of ``road_class``) that cut units.
    snap_tolerance
        Line ends closer than this (m) to another line are joined to it.
    min_area, min_width
        Units under this area (m²) or mean width (``2 * area / perimeter``, m)
        are slivers: merged into the neighbour in the same village with which
        they share the longest border.
    max_area, max_workload
        Units above this area (m²) or workload (minutes per month) are split
        along building clusters into pieces under the limit (``None``: no
        split).
    crs
        The metric working CRS (default: chosen by :func:`gridkit.working_crs`).
    strict
        Refuse invalid input geometries instead of repairing them.

    Returns
    -------
    UnitsResult
        ``.units`` (columns :data:`UNIT_COLUMNS`), ``.buildings`` and
        ``.entities`` with ``unit_id``, ``.unassigned``, ``.report``; all in
        the CRS of ``roads``.

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> res = gk.build_units(s["roads"], s["jurisdiction"], villages=s["villages"],
    ...                      entities=s["entities"])
    >>> int(res.units["entities"].sum()) == len(s["entities"])
    True
    """
    _check_options(snap_tolerance, min_area, min_width, max_area, max_workload)
    clock = _Clock()
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    layers = load_layers(roads=roads, jurisdiction=jurisdiction, villages=villages,
                         barriers=barriers, buildings=buildings, entities=entities,
                         crs=crs, strict=strict)
    road_gdf, j_gdf = layers["roads"], layers["jurisdiction"]
    v_gdf, bar_gdf = layers.get("villages"), layers.get("barriers")
    b_gdf, e_gdf = layers.get("buildings"), layers.get("entities")
    area = _jurisdiction_shape(j_gdf)
    report: dict = {"working_crs": f"EPSG:{layers.crs.to_epsg()}"}
    clock("load")

    # 1. cut: node roads, barriers, village boundaries and the outline; polygonize
    road_geoms = np.asarray(road_gdf.geometry.values)
    cutting = _cutting_roads(road_gdf, road_classes)
    lines = [road_geoms[cutting], _village_boundaries(v_gdf)]
    if bar_gdf is not None:
        lines.append(np.asarray(bar_gdf.geometry.values))
    noded = node_and_polygonize(np.concatenate(lines), area, snap_tolerance=snap_tolerance)
    faces = noded.faces
    clock("node")
    report.update(faces=len(faces), lines_outside=noded.lines_outside,
                  lines_clipped=noded.lines_clipped, snapped_ends=noded.snapped)

    # 2. village of each face
    if v_gdf is not None:
        v_geoms = np.asarray(v_gdf.geometry.values)
        village, share = village_of(faces, v_geoms)
        codes = v_gdf["code"].astype(str).to_numpy()
        outside_villages = float((shapely.area(faces) * (1 - share)).sum())
        if outside_villages > AREA_TOLERANCE * area.length:
            warnings.warn(
                f"villages: {outside_villages:.1f} m² of the jurisdiction lie in no village; "
                "those pieces went to the village holding most of their unit, or the nearest "
                "(make the villages cover the jurisdiction to avoid this)",
                GridkitWarning, stacklevel=2)
        report["area_outside_villages_m2"] = outside_villages
    else:
        village = np.zeros(len(faces), dtype=np.int64)
        codes = np.array([NO_VILLAGE_CODE], dtype=object)

    # 3. slivers
    polys, village, merged, left = merge_slivers(faces, village, min_area=min_area,
                                                 min_width=min_width)
    report.update(slivers_merged=merged, slivers_left=left)
    clock("villages+slivers")

    # 4. measure; split the heavy units
    mid, length = road_pieces(noded.pieces, road_geoms[cutting])
    streets = {"mid": mid, "length": length, "loose_roads": road_geoms[~cutting]}
    b_geoms = None if b_gdf is None else np.asarray(b_gdf.geometry.values)
    households = None
    if b_gdf is not None and "households" in b_gdf.columns:
        households = pd.to_numeric(b_gdf["households"], errors="coerce").fillna(0).to_numpy(float)
    classified = None if e_gdf is None else classify_entities(e_gdf, policy)
    e_geoms = None if e_gdf is None else np.asarray(e_gdf.geometry.values)
    metrics, b_unit, b_share, e_unit = _unit_workload(
        polys, streets=streets, building_geoms=b_geoms, households=households,
        entities=classified, entity_geoms=e_geoms, policy=policy)
    clock("assign+workload")
    split = 0
    if max_area is not None or max_workload is not None:
        polys, village, state, split = _split_heavy(
            polys, village, (metrics, b_unit, b_share, e_unit), streets=streets,
            building_geoms=b_geoms, households=households, entities=classified,
            entity_geoms=e_geoms, policy=policy, max_area=max_area, max_workload=max_workload)
        metrics, b_unit, b_share, e_unit = state
    report["units_split"] = split
    clock("split")

    # 5. order units by village, then north to south, west to east; number them
    pts = shapely.point_on_surface(polys)
    order = np.lexsort((np.round(shapely.get_x(pts), 3), -np.round(shapely.get_y(pts), 3),
                        codes[village]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    units = gpd.GeoDataFrame(metrics.iloc[order].reset_index(drop=True),
                             geometry=polys[order], crs=layers.crs)
    units.insert(0, "village_code", codes[village[order]])
    units.insert(0, "unit_id", np.arange(len(units), dtype=np.int64))
    units = units[list(UNIT_COLUMNS) + ["geometry"]]

    # 6. checks and the result in the input CRS
    total = float(units.area.sum())
    report.update(units=len(units), villages=int(units["village_code"].nunique()),
                  area_jurisdiction_m2=float(area.area), area_units_m2=total,
                  area_error_m2=abs(total - area.area),
                  area_tolerance_m2=AREA_TOLERANCE * area.length,
                  coverage_valid=bool(shapely.coverage_is_valid(units.geometry.values)))
    if report["area_error_m2"] > report["area_tolerance_m2"] or not report["coverage_valid"]:
        warnings.warn(f"units: the units do not tile the jurisdiction exactly (area error "
                      f"{report['area_error_m2']:.3g} m², coverage valid: "
                      f"{report['coverage_valid']}); please report this with your data",
                      GridkitWarning, stacklevel=2)
    out_crs = layers.input_crs
    unassigned = []
    b_out = e_out = None
    if b_gdf is not None:
        b_out = _with_unit(b_gdf, b_unit, rank)
        b_out["unit_share"] = b_share
        unassigned.append(_outside(b_gdf, b_unit, "buildings"))
        report.update(buildings_assigned=int((b_unit >= 0).sum()),
                      buildings_outside=int((b_unit < 0).sum()),
                      buildings_straddling=int(((b_unit >= 0) & (b_share < 1 - 1e-9)).sum()))
        b_out = b_out.to_crs(out_crs)
    else:
        report.update(buildings_assigned=0, buildings_outside=0, buildings_straddling=0)
    if classified is not None:
        e_out = _with_unit(classified, e_unit, rank)
        unassigned.append(_outside(e_gdf, e_unit, "entities"))
        report.update(entities_assigned=int((e_unit >= 0).sum()),
                      entities_outside=int((e_unit < 0).sum()))
        e_out = e_out.to_crs(out_crs)
    else:
        report.update(entities_assigned=0, entities_outside=0)
    missing = report["buildings_outside"] + report["entities_outside"]
    if missing:
        warnings.warn(
            f"{report['buildings_outside']} building(s) and {report['entities_outside']} "
            "entit(y/ies) lie outside the jurisdiction: they are in the result's `unassigned` "
            "layer, not in any unit", GridkitWarning, stacklevel=2)
    unassigned = (pd.concat(unassigned, ignore_index=True) if unassigned else
                  gpd.GeoDataFrame({"layer": [], "index": []}, geometry=[], crs=layers.crs))
    unassigned = gpd.GeoDataFrame(unassigned, geometry="geometry", crs=layers.crs).to_crs(out_crs)
    clock("output")
    report["seconds"] = clock.laps
    log.info("units: %s", report)
    return UnitsResult(units=units.to_crs(out_crs), buildings=b_out, entities=e_out,
                       unassigned=unassigned, report=report, crs=layers.crs)


class _Clock:
    """Seconds per step, for the report and the benchmark."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self._t, 3)
        self._t = now


def _with_unit(gdf: gpd.GeoDataFrame, unit: np.ndarray, rank: np.ndarray) -> gpd.GeoDataFrame:
    out = gdf.copy()
    ids = np.where(unit >= 0, rank[np.maximum(unit, 0)], -1)
    out["unit_id"] = pd.array(np.where(unit >= 0, ids, 0), dtype="Int64")
    out.loc[unit < 0, "unit_id"] = pd.NA
    return out


def _outside(gdf: gpd.GeoDataFrame, unit: np.ndarray, layer: str) -> gpd.GeoDataFrame:
    rows = gdf[unit < 0]
    return gpd.GeoDataFrame({"layer": layer, "index": rows.index.astype(str)},
                            geometry=rows.geometry.values, crs=gdf.crs)
