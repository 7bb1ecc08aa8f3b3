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

from gridkit.crs import crs_label, to_crs
from gridkit.errors import GridkitWarning, UnitsError
from gridkit.layers import load_layers
from gridkit.units._measure import unit_workload
from gridkit.units._slivers import merge_slivers
from gridkit.units._split import split_heavy
from gridkit.units.adjacency import unit_adjacency
from gridkit.units.assign import road_pieces, village_of
from gridkit.units.noding import GRID_SIZE, MAX_CROSSINGS, match_edges, node_and_polygonize
from gridkit.units.plan import (
    check_options,
    cutting_roads,
    jurisdiction_shape,
    village_boundaries,
    warn_roads_outside,
)
from gridkit.units.whole import building_conflicts, move_villages, whole_buildings
from gridkit.workload import Policy, classify_entities, load_policy

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
    cut_tunnels: bool = False,
    snap_tolerance: float = 1.0,
    min_area: float = 100.0,
    min_width: float = 3.0,
    max_area: float | None = None,
    max_workload: float | None = None,
    crs=None,
    strict: bool = False,
    max_crossings: float | None = MAX_CROSSINGS,
    fix_villages: bool = False,
) -> UnitsResult:
    """Cut the jurisdiction into basic units and measure the work in each.

    Parameters
    ----------
    roads
        Road lines (GeoDataFrame or ``PATH[:LAYER]``). All roads count for
        ``street_length_m``; those in ``road_classes`` (default: all) cut.
        ``None``: no roads, e.g. a building's floor plan whose room walls are
        the ``barriers`` (see below).
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
    cut_tunnels
        Whether roads flagged in a ``tunnel`` column (any value but
        no/false/0/empty, e.g. OSM's ``yes`` or ``building_passage``) cut
        units. By default they do not: they pass under blocks and buildings.
        They still count for ``street_length_m``.
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
        A local engineering CRS in metres (a floor plan) is used as it is when
        every layer shares it; it is never transformed.
    strict
        Refuse invalid input geometries instead of repairing them.
    max_crossings
        Refuse (:class:`UnitsError`) cutting lines that cross each other more
        than this many times per line on average, estimated on a sample
        before noding (:data:`gridkit.units.noding.MAX_CROSSINGS`, 20; street
        networks have about 0-1): such a layer is not a road network and
        would take time and memory growing with the square of its size.
        ``None`` skips the check.
    fix_villages
        Where a village boundary cuts a building (see ``report["conflicts"]``),
        move it around the building, to the village holding most of it; the
        villages as used are ``report["villages_fixed"]`` and what moved
        ``report["villages_moved"]``. By default such buildings stay split
        along the village boundary and a :class:`GridkitWarning` names them.

    Returns
    -------
    UnitsResult
        ``.units`` (columns :data:`UNIT_COLUMNS`), ``.buildings`` and
        ``.entities`` with ``unit_id``, ``.unassigned``, ``.report``; all in
        the CRS of ``roads`` (the first layer given).

    Notes
    -----
    A laboratory building (the domain's "10 zones, 46 grids") works the
    same way without roads: ``roads=None``, the room and corridor walls
    (``gdf.boundary`` of the room polygons) as ``barriers``, the building
    outline as ``jurisdiction``, its zones (floors, wings) as ``villages``
    and the equipment as ``entities``, all in one local engineering CRS in
    metres. Each room becomes a unit; grids then group rooms inside a zone.
    Pass room-sized sliver limits (e.g. ``min_area=1, min_width=0.5``): the
    defaults are for street blocks and would merge the rooms.

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> res = gk.build_units(s["roads"], s["jurisdiction"], villages=s["villages"],
    ...                      entities=s["entities"])
    >>> int(res.units["entities"].sum()) == len(s["entities"])
    True
    """
    check_options(snap_tolerance, min_area, min_width, max_area, max_workload)
    clock = _Clock()
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    layers = load_layers(roads=roads, jurisdiction=jurisdiction, villages=villages,
                         barriers=barriers, buildings=buildings, entities=entities,
                         crs=crs, strict=strict)
    road_gdf, j_gdf = layers.get("roads"), layers["jurisdiction"]
    v_gdf, bar_gdf = layers.get("villages"), layers.get("barriers")
    b_gdf, e_gdf = layers.get("buildings"), layers.get("entities")
    area = jurisdiction_shape(j_gdf)
    report: dict = {"working_crs": crs_label(layers.crs)}
    v_gdf = _conflicts(report, b_gdf, v_gdf, area, layers.input_crs, fix_villages)
    clock("load")

    # 1. cut: node roads, barriers, village boundaries and the outline; polygonize
    road_geoms, cutting = _roads(road_gdf, road_classes, cut_tunnels)
    report["roads_not_cutting"] = int((~cutting).sum())
    warn_roads_outside(road_geoms, area)
    lines = [road_geoms[cutting], village_boundaries(v_gdf)]
    if bar_gdf is not None:
        lines.append(np.asarray(bar_gdf.geometry.values))
    noded = node_and_polygonize(np.concatenate(lines), area, snap_tolerance=snap_tolerance,
                                max_crossings=max_crossings)
    faces = noded.faces
    clock("node")
    report.update(faces=len(faces), lines_outside=noded.lines_outside,
                  lines_clipped=noded.lines_clipped, snapped_ends=noded.snapped)

    # 2. village of each face
    if v_gdf is not None:
        v_geoms = np.asarray(v_gdf.geometry.values)
        village, share, several = village_of(faces, v_geoms)
        codes = v_gdf["code"].astype(str).to_numpy()
        outside_villages = float((shapely.area(faces) * (1 - share)).sum())
        overlap = float(shapely.area(faces[several]).sum())
        if overlap > AREA_TOLERANCE * area.length:
            warnings.warn(
                f"villages: {overlap:.1f} m² lie in more than one village; those pieces went "
                "to the first village in the layer (fix the village boundaries so they do "
                "not overlap)", GridkitWarning, stacklevel=2)
        report["area_in_several_villages_m2"] = overlap
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
    metrics, b_unit, b_share, e_unit = unit_workload(
        polys, streets=streets, building_geoms=b_geoms, households=households,
        entities=classified, entity_geoms=e_geoms, policy=policy, within=area)
    clock("assign+workload")
    split = 0
    if max_area is not None or max_workload is not None:
        polys, village, state, split = split_heavy(
            polys, village, (metrics, b_unit, b_share, e_unit), streets=streets,
            building_geoms=b_geoms, households=households, entities=classified,
            entity_geoms=e_geoms, policy=policy, max_area=max_area, max_workload=max_workload)
        metrics, b_unit, b_share, e_unit = state
    over = np.zeros(len(polys), dtype=bool)
    if max_area is not None:
        over |= metrics["area_m2"].to_numpy() > max_area
    if max_workload is not None:
        over |= metrics["workload_min"].to_numpy() > max_workload
    if over.any():  # e.g. one building whose entities alone exceed max_workload
        warnings.warn(f"units: {int(over.sum())} unit(s) still exceed max_area/max_workload "
                      "after splitting (a single building or dense block cannot be cut further "
                      "without splitting buildings)", GridkitWarning, stacklevel=2)
    report.update(units_split=split, units_over_limit=int(over.sum()))
    clock("split")

    # 5. buildings whole: the unit a building is assigned to takes all of its footprint;
    # then no vertex a hair from a neighbour's edge that the neighbour lacks
    report["buildings_made_whole"] = whole = 0
    if b_geoms is not None:
        polys, kept, whole = whole_buildings(polys, village, b_geoms, b_unit)
        polys, village = polys[kept], village[kept]
        report["buildings_made_whole"] = whole
    matched, kept = match_edges(polys)
    if whole or not kept.all() or not shapely.equals_exact(matched, polys[kept], 0).all():
        polys, village = matched, village[kept]
        metrics, b_unit, b_share, e_unit = unit_workload(
            polys, streets=streets, building_geoms=b_geoms, households=households,
            entities=classified, entity_geoms=e_geoms, policy=policy, within=area)
    clock("whole buildings")

    # 6. order units by village, then north to south, west to east; number them
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

    # 7. checks and the result in the input CRS
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
        b_out = b_out.to_crs(out_crs)  # the inputs' own geometry: vertex by vertex
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
    return UnitsResult(units=to_crs(units, out_crs), buildings=b_out, entities=e_out,
                       unassigned=unassigned, report=report, crs=layers.crs)


def _conflicts(report: dict, buildings, villages, area, out_crs, fix: bool):
    """Buildings cut by a village or jurisdiction boundary: ``report["conflicts"]``.

    Warns about them; with ``fix`` moves the village boundaries around them
    and returns the villages to cut with.
    """
    report.update(conflicts=[], villages_moved=[], villages_fixed=None)
    if buildings is None:
        return villages
    vgeoms = None if villages is None else np.asarray(villages.geometry.values)
    codes = None if villages is None else villages["code"].astype(str).to_numpy()
    found = building_conflicts(np.asarray(buildings.geometry.values),
                               buildings.index.to_numpy(), vgeoms, codes, area)
    if not found:
        return villages
    points = gpd.GeoSeries([c["point"] for c in found], crs=buildings.crs).to_crs(out_crs)
    report["conflicts"] = [
        {"building": c["building"], "villages": c["villages"], "area_m2": c["area_m2"],
         "x": float(p.x), "y": float(p.y)} for c, p in zip(found, points, strict=True)]
    moved = []
    if fix and vgeoms is not None:
        new, moved = move_villages(vgeoms, np.asarray(buildings.geometry.values), found,
                                   codes=codes)
        villages = villages.set_geometry(new)
        report["villages_moved"] = moved
        report["villages_fixed"] = to_crs(villages, out_crs)
    digits = 6 if CRS(out_crs).is_geographic else 1  # plain numbers, never 3.4e+06
    first = "; ".join(
        f"building {c['building']} at ({c['x']:.{digits}f}, {c['y']:.{digits}f}): "
        + ", ".join(f"{v or 'no village'} {a:.1f} m²" for v, a in
                    zip(c["villages"], c["area_m2"], strict=True))
        for c in report["conflicts"][:3])
    cut_v = sum(1 for c in found if any(v != "" and v != c["villages"][0] and
                                        not v.startswith("outside") for v in c["villages"]))
    if moved:
        what = (f"moved the village boundary around {len(moved)} of them to the village "
                "holding most of each (report['villages_moved'], report['villages_fixed'])")
    elif cut_v:
        what = ("they stay split between grids along that boundary: pass fix_villages=True "
                "(--fix-villages) to move the village boundary around them")
    else:
        what = "only the jurisdiction's outline cuts them"
    warnings.warn(f"units: {len(found)} building(s) are cut by a village or jurisdiction "
                  f"boundary (report['conflicts']), e.g. {first}; {what}",
                  GridkitWarning, stacklevel=3)
    return villages


def _roads(roads: gpd.GeoDataFrame | None, road_classes, cut_tunnels: bool):
    """The road geometries and which of them cut (none without a roads layer)."""
    if roads is None:
        if road_classes is not None:
            raise UnitsError("`road_classes` was given but there is no roads layer")
        return np.empty(0, dtype=object), np.zeros(0, dtype=bool)
    return np.asarray(roads.geometry.values), cutting_roads(roads, road_classes, cut_tunnels)


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
