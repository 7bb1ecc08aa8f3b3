"""Coverage repair: snap, remove overlaps, fill gaps, clip, and say what moved.

:func:`repair_coverage` uses GEOS's coverage cleaner (``shapely.coverage_clean``,
shapely >= 2.2, GEOS >= 3.14): it snaps nearly-matching vertices, gives every
overlap to the neighbour with the longest shared border and fills gaps
narrower than ``tolerance`` into the neighbour with the longest shared
border. Around it gridkit clips the grids to the jurisdiction and then
rebuilds them from their noded edges (:func:`rebuild_coverage`): neighbours
share identical edges, no grid crosses the jurisdiction's outline, every
polygon is valid, and the gaps along the jurisdiction's edge (which the
cleaner cannot see) are filled with the same rule (wider gaps only when
asked). It validates the result with
:func:`gridkit.coverage.validate.validate_coverage` and reports the area each
grid gained and lost. It never drops a grid.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage.checks import unmatched_vertices
from gridkit.coverage.diff import MIN_CHANGE_M2
from gridkit.coverage.geom import RESOLUTION, holes, match_vertices, polygon_parts, polygonal
from gridkit.coverage.validate import DEFAULT_TOLERANCE, CoverageReport, validate_coverage
from gridkit.crs import to_crs, working_crs
from gridkit.errors import (
    EmptyLayerError,
    GeometryTypeError,
    GridkitWarning,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
)
from gridkit.layers import check_layer
from gridkit.units.adjacency import shared_segments
from gridkit.units.assign import largest_overlap

__all__ = ["repair_coverage", "RepairResult"]

log = logging.getLogger(__name__)

_GRID = RESOLUTION / 1000
"""Snap-rounding grid (m) of the rebuilt edges: 1 µm moves no area of note (about a
square centimetre along 10 km of edges) and keeps noding robust."""


@dataclass
class RepairResult:
    """What :func:`repair_coverage` returns.

    Attributes
    ----------
    grids
        The repaired grids, every input row, same columns, input CRS.
    changes
        One row per grid whose geometry changed: ``grid_id``, ``area_before``,
        ``area_after``, ``gained_m2``, ``lost_m2`` (m²) and ``note``.
    report
        Validation of the repaired grids (wide gaps left unfilled show here).
    """

    grids: gpd.GeoDataFrame
    changes: pd.DataFrame
    report: CoverageReport

    def __str__(self) -> str:
        moved = (
            self.changes["gained_m2"].sum() + self.changes["lost_m2"].sum()
            if len(self.changes)
            else 0
        )
        lines = [
            f"repaired {len(self.grids)} grid(s): {len(self.changes)} changed, "
            f"{moved:,.2f} m² moved in total"
        ]
        if len(self.changes):
            with pd.option_context("display.width", 120, "display.max_rows", 40):
                lines.append(self.changes.round(3).to_string(index=False))
        lines.append(str(self.report))
        return "\n".join(lines)


def rebuild_coverage(geoms: np.ndarray, area=None, *, tolerance: float,
                     fill_gaps: bool = False, grid_size: float = _GRID) -> np.ndarray:
    """Rebuild polygons from their noded edges: a valid coverage by construction.

    All boundaries (and ``area``'s outline) are noded together, snap-rounded
    to ``grid_size`` (m) and polygonized; each face goes to the polygon
    holding it, faces outside ``area`` are dropped, and the faces in no polygon
    (gaps) narrower than ``tolerance`` (all with ``fill_gaps``) go to the
    neighbour with which they share the longest border. Neighbours therefore
    share identical edges, no polygon crosses ``area``'s outline, and every
    polygon is valid. (GEOS's coverage cleaner leaves the outer edge alone and
    may snap vertices across it; this is the step after it.) A polygon left
    with no face keeps ``None``.
    """
    lines = [shapely.get_parts(shapely.boundary(geoms))]
    if area is not None:
        # an outline corner a hair from a grid's corner is that corner (validation
        # takes them for one vertex): snap the outline to the grids' vertices
        rim = shapely.get_parts(shapely.boundary(area))
        lines.append(shapely.snap(rim, shapely.multilinestrings(lines[0]), RESOLUTION))
    noded = shapely.union_all(np.concatenate(lines), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    pts = shapely.point_on_surface(faces)
    if area is not None:
        shapely.prepare(area)
        inside = shapely.covers(area, pts)
        faces, pts = faces[inside], pts[inside]
    owner = np.full(len(faces), -1, dtype=np.int64)
    f_idx, g_idx = shapely.STRtree(geoms).query(pts, predicate="within")
    owner[f_idx[::-1]] = g_idx[::-1]  # overlaps (none after cleaning): the first grid
    rest = np.flatnonzero(owner < 0)
    if len(rest):  # a face a millimetre wide whose interior point the snapping moved
        best, share = largest_overlap(faces[rest], geoms)
        owner[rest] = np.where(share > 0.5, best, -1)
    owner = _fill_gap_faces(faces, owner, area, tolerance=tolerance, fill_gaps=fill_gaps)
    out = np.full(len(geoms), None, dtype=object)
    keep = owner >= 0
    order = np.argsort(owner[keep], kind="stable")
    kept, own = faces[keep][order], owner[keep][order]
    starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
    for lo, hi in zip(starts, np.r_[starts[1:], len(own)], strict=True):
        out[own[lo]] = polygonal(shapely.coverage_union_all(kept[lo:hi]))
    return out


def _clip_again(cleaned: np.ndarray, jur) -> np.ndarray:
    """Clip the grids the cleaner's gap filling pushed past the outer edge.

    GEOS's cleaner (3.14) may fill notches of the coverage's outline as gaps,
    so parts of the clipped grids stick out again (up to ``gap_width``).
    Only grids with such a part at least RESOLUTION wide are clipped.
    """
    ok = np.flatnonzero([c is not None for c in cleaned])
    if len(ok) == 0:
        return cleaned
    _, owner, _, _ = polygon_parts(shapely.difference(cleaned[ok].astype(object), jur))
    out = cleaned.copy()
    for i in ok[np.unique(owner)]:
        again = polygonal(shapely.intersection(cleaned[i], jur))
        if again is not None:
            out[i] = again
    return out


def _finish(cleaned: np.ndarray, jur, *, tolerance: float, fill_gaps: bool,
            snapping_distance: float | None) -> np.ndarray:
    """After GEOS's cleaner: fill the edge gaps and match the edges, the better of two ways.

    First the light way (it moves nothing else): fill the gaps along the
    jurisdiction's edge into the neighbour with the longest border (overlay),
    clean again, insert the vertices a neighbour lacks. When that leaves the
    coverage invalid for GEOS or for :func:`validate_coverage` (a sloppy
    outline near the grids' corners: slivers outside, vertices a hair off an
    edge), the grids are rebuilt from their noded edges
    (:func:`rebuild_coverage`) and the result with fewer problems is kept.
    """
    usable = np.array([c is not None for c in cleaned])
    if not usable.any():
        return cleaned
    light = cleaned.copy()
    light[usable] = _edge_fill(cleaned[usable].astype(object), jur, tolerance=tolerance,
                               fill_gaps=fill_gaps, snapping_distance=snapping_distance)
    best, score = light, _problems(light, jur, tolerance)
    if score and jur is not None:  # snapping pushed an edge a millimetre out: clip, match
        clipped = _clip_again(light, jur)
        ok = np.array([c is not None for c in clipped])
        sub = clipped[ok].astype(object)
        clipped[ok] = match_vertices(sub, unmatched_vertices(sub, shapely.STRtree(sub)))
        best, score = min((best, score), (clipped, _problems(clipped, jur, tolerance)),
                          key=lambda t: t[1])
    if score:
        rebuilt = cleaned.copy()
        rebuilt[usable] = _rebuilt(cleaned[usable].astype(object), jur, tolerance=tolerance,
                                   fill_gaps=fill_gaps)
        best, score = min((best, score), (rebuilt, _problems(rebuilt, jur, tolerance)),
                          key=lambda t: t[1])
    return best


def _problems(geoms: np.ndarray, jur, tolerance: float) -> int:
    """How far from valid: GEOS's verdict first, then the issues validation would report."""
    sub = geoms[[g is not None for g in geoms]].astype(object)
    n = int((~shapely.is_valid(sub)).sum())
    n += 0 if shapely.coverage_is_valid(sub) else 10_000
    n += len(unmatched_vertices(sub, shapely.STRtree(sub))[0])
    union = shapely.union_all(sub)
    gap = shapely.difference(jur, union) if jur is not None else shapely.union_all(holes(union))
    _, _, width, _ = polygon_parts(np.array([gap], dtype=object))
    n += int((width < tolerance).sum())
    if jur is not None:  # per grid, as validation measures it
        n += len(polygon_parts(shapely.difference(sub, jur))[0])
    return n


def _edge_fill(geoms: np.ndarray, jur, *, tolerance: float, fill_gaps: bool,
               snapping_distance: float | None) -> np.ndarray:
    """Edge gaps (and, on request, wide gaps) merged by overlay, cleaned, vertices matched."""
    union = shapely.union_all(geoms)
    gap_geom = shapely.difference(jur, union) if jur is not None else \
        shapely.union_all(holes(union))
    parts, _, width, _ = polygon_parts(np.array([gap_geom], dtype=object))
    fill = width < tolerance if not fill_gaps else np.ones(len(parts), dtype=bool)
    out = geoms.copy()
    if fill.any():
        out = _longest_border_fill(out, parts[fill])
        out = _clean(out, 0.0, snapping_distance)
    ok = np.array([c is not None for c in out])
    if ok.any():  # GEOS's cleaner leaves vertices on a neighbour's edge that it lacks
        sub = out[ok].astype(object)
        out[ok] = match_vertices(sub, unmatched_vertices(sub, shapely.STRtree(sub)))
    return out


def _longest_border_fill(geoms: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Merge each gap into the neighbour with which it shares the longest border.

    GEOS's cleaner does this for gaps inside the coverage; gaps along the
    jurisdiction's edge (and wide gaps, on request) are not holes of the
    coverage, so they are merged here with the same rule.
    """
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(gaps, predicate="dwithin", distance=RESOLUTION)
    for k, gap in enumerate(gaps):
        cand = right[left == k]
        if len(cand) == 0:
            continue
        border = shapely.length(
            shapely.intersection(
                shapely.buffer(shapely.boundary(geoms[cand]), RESOLUTION), gap.boundary
            )
        )
        j = cand[int(np.argmax(border))]
        geoms[j] = polygonal(shapely.union(geoms[j], gap))
    return geoms


def _rebuilt(geoms: np.ndarray, area, *, tolerance: float, fill_gaps: bool) -> np.ndarray:
    """:func:`rebuild_coverage` on a 1 µm grid; on a 2 mm grid where that leaves vertices
    within RESOLUTION of a neighbour's edge.

    A sloppy outline crossing the grids near their corners leaves outline
    nodes a fraction of a millimetre from a neighbour's edge, which
    validation counts as an edge mismatch. Snap rounding on a grid of
    2 x RESOLUTION nodes every vertex to each edge passing within
    RESOLUTION of it (the hot-pixel rule), at the price of moving vertices
    by up to 1.4 mm; clean inputs never need it.
    """
    out = rebuild_coverage(geoms, area, tolerance=tolerance, fill_gaps=fill_gaps)
    ok = np.array([x is not None for x in out])
    sub = out[ok].astype(object)
    if len(unmatched_vertices(sub, shapely.STRtree(sub))[0]) == 0:
        return out
    return rebuild_coverage(geoms, area, tolerance=tolerance, fill_gaps=fill_gaps,
                            grid_size=2 * RESOLUTION)


def _fill_gap_faces(faces: np.ndarray, owner: np.ndarray, area, *, tolerance: float,
                    fill_gaps: bool) -> np.ndarray:
    """Give the gaps narrower than ``tolerance`` to their longest-border neighbour."""
    gap = owner < 0
    if not gap.any():
        return owner
    a, b, segs, seg_pair = shared_segments(faces)
    shared = np.bincount(seg_pair, weights=shapely.length(segs), minlength=len(a))
    # the gap parts exactly as validation sees and measures them (its width of a
    # part with a spike differs from that of the clean faces); faces in no part
    # (under RESOLUTION wide) count as narrow
    gaps = np.flatnonzero(gap)
    union = shapely.coverage_union_all(faces[~gap])
    gap_geom = shapely.difference(area, union) if area is not None else \
        shapely.union_all(holes(union))
    parts, _, width, _ = polygon_parts(np.array([gap_geom], dtype=object))
    narrow = np.r_[(width < tolerance) | fill_gaps, True]
    comp = np.full(len(faces), len(parts), dtype=np.int64)
    if len(parts):
        f_idx, p_idx = shapely.STRtree(parts).query(shapely.point_on_surface(faces[gaps]),
                                                    predicate="intersects")
        comp[gaps[f_idx[::-1]]] = p_idx[::-1]
    fill = set(np.flatnonzero(narrow).tolist())
    # borders between a gap face and an owned face, summed per (gap part, grid)
    one = gap[a] & ~gap[b]
    other = ~gap[a] & gap[b]
    g_face = np.r_[a[one], b[other]]
    o_face = np.r_[b[one], a[other]]
    border = pd.DataFrame({"part": comp[g_face], "grid": owner[o_face],
                           "shared": np.r_[shared[one], shared[other]]})
    border = border[border["part"].isin(fill)]
    if border.empty:
        return owner
    best = (border.groupby(["part", "grid"], as_index=False)["shared"].sum()
            .sort_values(["part", "shared", "grid"], ascending=[True, False, True])
            .drop_duplicates("part"))
    to = dict(zip(best["part"], best["grid"], strict=True))
    out = owner.copy()
    for f in gaps:
        out[f] = to.get(comp[f], -1)
    return out


def repair_coverage(
    grids: gpd.GeoDataFrame,
    *,
    jurisdiction: gpd.GeoDataFrame | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    fill_gaps: bool = False,
    id_column: str | None = "grid_id",
    snapping_distance: float | None = None,
    crs=None,
) -> RepairResult:
    """Clean a coverage: no overlaps, no slivers, matched edges, clipped.

    Steps (in the metric working CRS): repair invalid geometries
    (``make_valid``); clip to the jurisdiction; run GEOS's coverage cleaner
    (snap, overlaps to the neighbour with the longest border, gaps narrower
    than ``tolerance`` filled); rebuild the grids from their noded edges,
    clipped to the jurisdiction, with the gaps along its edge narrower than
    ``tolerance`` (all gaps when ``fill_gaps``) given to the neighbour with
    the longest shared border (:func:`rebuild_coverage`); validate.

    Parameters
    ----------
    grids
        The grids; never modified. Every row comes back (a grid that would
        vanish keeps its geometry and a note says why).
    jurisdiction
        Clip to it and fill gaps up to its edge.
    tolerance
        Gap width (m) filled automatically (default 1 m, the sliver width of
        :func:`gridkit.coverage.validate.validate_coverage`).
    fill_gaps
        Also fill wider gaps (missing grids!) into their neighbours. Off by
        default: a wide gap usually means a grid is missing.
    id_column
        The grids' id column (``None``: the row index).
    snapping_distance
        Vertex snapping distance (m) for the cleaner; default: GEOS's
        automatic choice from the extent.
    crs
        Metric working CRS (default: chosen automatically).

    Returns
    -------
    RepairResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
    ...     geometry=[box(0, 0, 10.2, 10), box(10, 0, 20, 10)], crs=32650)
    >>> result = repair_coverage(grids)
    >>> result.report.valid, round(float(result.grids.area.sum()), 6)
    (True, 200.0)
    """
    if not isinstance(grids, gpd.GeoDataFrame):
        raise LayerError(f"grids: expected a GeoDataFrame, got {type(grids).__name__}")
    if len(grids) == 0:
        raise EmptyLayerError("grids: the layer is empty")
    if grids.crs is None:
        raise MissingCRSError("grids: the layer has no CRS; set it with gdf.set_crs(...)")
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise InvalidValueError(f"tolerance must be a number of metres >= 0, got {tolerance!r}")
    if id_column is not None and id_column not in grids.columns:
        raise MissingColumnError(
            f"grids: no id column {id_column!r}; name it with id_column=... "
            "(--id-column) or use id_column=None for the row number"
        )
    other = set(grids.geom_type.dropna()) - {"Polygon", "MultiPolygon", "GeometryCollection"}
    if other:
        raise GeometryTypeError(f"grids: expected polygons, found {sorted(other)}")
    if jurisdiction is not None:
        jurisdiction = check_layer(jurisdiction, "jurisdiction")
    work = working_crs(grids, jurisdiction, crs=crs)
    g = to_crs(grids, work)
    ids = (
        g[id_column].astype(str).to_numpy()
        if id_column
        else np.array([str(i) for i in g.index], dtype=object)
    )
    before = np.asarray(g.geometry.values, dtype=object)
    first = validate_coverage(grids, jurisdiction=jurisdiction, tolerance=tolerance,
                              id_column=id_column, crs=work)
    if first.valid:  # nothing to repair: every grid stays exactly as it was
        return RepairResult(grids=grids.copy(), changes=_changes(ids, before, before,
                                                                 ["" for _ in ids]),
                            report=first)
    geoms = np.array(
        [
            polygonal(shapely.make_valid(x)) if x is not None and not x.is_empty else None
            for x in before
        ],
        dtype=object,
    )
    notes = ["" for _ in ids]
    present = np.array([x is not None for x in geoms])
    for i in np.flatnonzero(~present):
        notes[i] = "no usable geometry: draw it"
    jur = None
    if jurisdiction is not None:
        jur = polygonal(shapely.union_all(to_crs(jurisdiction, work).geometry.values))
        clipped = np.array(
            [polygonal(x) for x in shapely.intersection(geoms[present], jur)], dtype=object
        )
        idx = np.flatnonzero(present)
        for k, i in enumerate(idx):
            if clipped[k] is None:
                notes[i] = "lies outside the jurisdiction: kept as it was"
            else:
                geoms[i] = clipped[k]
    work_idx = np.flatnonzero(present)
    cleaned = _clean(geoms[work_idx], tolerance, snapping_distance)
    if jur is not None:
        cleaned = _clip_again(cleaned, jur)
    cleaned = _finish(cleaned, jur, tolerance=tolerance, fill_gaps=fill_gaps,
                      snapping_distance=snapping_distance)
    for k, i in enumerate(work_idx):
        if cleaned[k] is None:
            notes[i] = notes[i] or "would vanish (wholly overlapped): kept as it was"
        else:
            geoms[i] = cleaned[k]
    out_geoms = gpd.GeoSeries(geoms, index=g.index, crs=work)
    fixed = g.copy()
    fixed = fixed.set_geometry(
        to_crs(out_geoms, grids.crs) if CRS.from_user_input(grids.crs) != work else out_geoms
    )
    if fixed.geometry.name != grids.geometry.name:
        fixed = fixed.rename_geometry(grids.geometry.name)
    changes = _changes(ids, before, geoms, notes)
    report = validate_coverage(
        fixed, jurisdiction=jurisdiction, tolerance=tolerance, id_column=id_column, crs=work
    )
    if not report.valid:
        log.info("repair left %d issue(s): %s", len(report.issues), report.summary)
    return RepairResult(grids=fixed, changes=changes, report=report)


def _clean(geoms: np.ndarray, gap_width: float, snapping_distance: float | None) -> np.ndarray:
    present = np.array([x is not None for x in geoms])
    out = np.array(geoms, dtype=object)
    if not present.any():
        return out
    kw = {"gap_width": float(gap_width)}
    if snapping_distance is not None:
        kw["snapping_distance"] = float(snapping_distance)
    res = shapely.coverage_clean(geoms[present].astype(object), **kw)
    res = np.array([polygonal(x) for x in res], dtype=object)
    idx = np.flatnonzero(present)
    for k, i in enumerate(idx):
        out[i] = res[k]
    vanished = sum(r is None for r in res)
    if vanished:
        warnings.warn(
            f"coverage cleaner: {vanished} grid(s) would vanish (wholly overlapped by "
            "others); they are kept as they were, fix them by hand",
            GridkitWarning,
            stacklevel=3,
        )
    return out


def _changes(ids, before, after, notes) -> pd.DataFrame:
    rows = []
    for gid, b, a, note in zip(ids, before, after, notes, strict=False):
        if b is None or a is None or b.is_empty:
            if note:
                rows.append(
                    {
                        "grid_id": gid,
                        "area_before": np.nan,
                        "area_after": a.area if a is not None else np.nan,
                        "gained_m2": np.nan,
                        "lost_m2": np.nan,
                        "note": note,
                    }
                )
            continue
        if not note and (shapely.equals_exact(a, b, 0.0) or shapely.equals(a, b)):
            continue
        gained = shapely.difference(a, b).area if a is not None else 0.0
        lost = shapely.difference(b, a).area if a is not None else 0.0
        if max(gained, lost) < MIN_CHANGE_M2 and not note:
            note = "vertices snapped, no area moved"
        rows.append(
            {
                "grid_id": gid,
                "area_before": b.area,
                "area_after": a.area,
                "gained_m2": gained,
                "lost_m2": lost,
                "note": note or "reshaped",
            }
        )
    return pd.DataFrame(
        rows, columns=["grid_id", "area_before", "area_after", "gained_m2", "lost_m2", "note"]
    )
