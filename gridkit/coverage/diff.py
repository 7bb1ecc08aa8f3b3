"""Reviewing a boundary change: what moved, and who is now responsible.

:func:`diff_grids` compares an old and a new set of grids (matched by id):
grids added, removed and reshaped (area gained and lost, and from/to which
grids), the pieces of land that changed grid (a layer for the map), the
entities and buildings that now belong to another grid, and the staff whose
grid changed.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage.geom import polygon_parts, polygonal
from gridkit.crs import to_crs, working_crs
from gridkit.errors import EmptyLayerError, LayerError, MissingColumnError, MissingCRSError
from gridkit.layers import check_layer, check_staff

__all__ = ["diff_grids", "GridDiff", "MIN_CHANGE_M2"]

log = logging.getLogger(__name__)

#: Area changes smaller than this (m²) are snapping noise, not a change.
MIN_CHANGE_M2 = 0.01


@dataclass
class GridDiff:
    """What :func:`diff_grids` returns.

    Attributes
    ----------
    table
        One row per grid in either version: ``grid_id``, ``status``
        (added/removed/reshaped/unchanged), ``area_old``, ``area_new``,
        ``gained_m2``, ``lost_m2``, ``gained_from``, ``lost_to`` (grid ids,
        comma separated), ``entities_in``, ``entities_out``,
        ``buildings_in``, ``buildings_out``.
    layer
        The pieces of land that changed grid: ``old_grid``, ``new_grid``
        (empty when none), ``change`` (moved/added/removed), ``area_m2``,
        geometry in the new grids' CRS.
    entities, buildings
        The features whose grid changed: ``feature``, ``old_grid``,
        ``new_grid``, geometry (``None`` when not given).
    staff
        The staff rows whose grid changed (``change`` says how, plus the
        entity counts gained and lost), or ``None`` when no staff was given.
    """

    table: pd.DataFrame
    layer: gpd.GeoDataFrame
    entities: gpd.GeoDataFrame | None
    buildings: gpd.GeoDataFrame | None
    staff: pd.DataFrame | None

    @property
    def summary(self) -> dict:
        counts = self.table["status"].value_counts()
        out = {s: int(counts.get(s, 0)) for s in ("added", "removed", "reshaped", "unchanged")}
        out["area_moved_m2"] = float(self.layer["area_m2"].sum()) if len(self.layer) else 0.0
        out["entities_moved"] = 0 if self.entities is None else len(self.entities)
        out["buildings_moved"] = 0 if self.buildings is None else len(self.buildings)
        out["staff_affected"] = 0 if self.staff is None else len(self.staff)
        return out

    @property
    def changed(self) -> bool:
        s = self.summary
        return bool(s["added"] or s["removed"] or s["reshaped"])

    def to_dict(self) -> dict:
        def plain(records):
            return [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                for r in records
            ]

        changed = self.table[self.table["status"] != "unchanged"]
        out = {
            "changed": self.changed,
            "summary": self.summary,
            "grids": plain(changed.to_dict("records")),
        }
        for name in ("entities", "buildings"):
            frame = getattr(self, name)
            out[name] = (
                []
                if frame is None
                else plain(pd.DataFrame(frame.drop(columns="geometry")).to_dict("records"))
            )
        out["staff"] = [] if self.staff is None else plain(self.staff.to_dict("records"))
        return out

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), default=str, **kwargs)

    def __str__(self) -> str:
        s = self.summary
        lines = [
            f"{s['added']} grid(s) added, {s['removed']} removed, {s['reshaped']} reshaped, "
            f"{s['unchanged']} unchanged; {s['area_moved_m2']:,.1f} m² changed grid; "
            f"{s['entities_moved']} entit(y/ies) and {s['buildings_moved']} building(s) "
            f"now in another grid; {s['staff_affected']} staff affected"
        ]
        changed = self.table[self.table["status"] != "unchanged"]
        if len(changed):
            cols = [
                "grid_id",
                "status",
                "area_old",
                "area_new",
                "gained_m2",
                "lost_m2",
                "gained_from",
                "lost_to",
                "entities_in",
                "entities_out",
            ]
            with pd.option_context("display.width", 140, "display.max_rows", 60):
                lines.append(changed[cols].round(1).to_string(index=False))
        if self.staff is not None and len(self.staff):
            with pd.option_context("display.width", 140, "display.max_rows", 60):
                lines.append("staff affected:")
                lines.append(self.staff.to_string(index=False))
        return "\n".join(lines)


def _grids(gdf, name, id_column, work):
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerError(f"{name}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if len(gdf) == 0:
        raise EmptyLayerError(f"{name}: the layer is empty")
    if gdf.crs is None:
        raise MissingCRSError(f"{name}: the layer has no CRS; set it with gdf.set_crs(...)")
    if id_column not in gdf.columns:
        raise MissingColumnError(
            f"{name}: no id column {id_column!r}; the layer has "
            f"{list(gdf.columns)}; name it with id_column=... (--id-column)"
        )
    ids = gdf[id_column].astype(str)
    if ids.duplicated().any():
        raise LayerError(
            f"{name}: {id_column} repeats ({sorted(ids[ids.duplicated()].unique())[:5]}); "
            "diff needs unique ids: run `gridkit validate` first"
        )
    geoms = np.array(
        [
            polygonal(shapely.make_valid(g)) if g is not None and not g.is_empty else None
            for g in to_crs(gdf, work).geometry.values
        ],
        dtype=object,
    )
    return ids.to_numpy(dtype=object), geoms


def _locate(points: np.ndarray, ids: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """The grid holding each point (the first one when several do; ``None`` if none)."""
    out = np.full(len(points), None, dtype=object)
    ok = np.array([g is not None for g in geoms])
    if not ok.any() or len(points) == 0:
        return out
    tree = shapely.STRtree(geoms[ok])
    pl, gr = tree.query(points, predicate="intersects")
    first = np.unique(pl, return_index=True)[1]
    out[pl[first]] = ids[ok][gr[first]]
    return out


def _moves(layer, kind, work, old_ids, old_geoms, new_ids, new_geoms, out_crs):
    if layer is None:
        return None, None, None
    layer = check_layer(layer, kind)
    layer = to_crs(layer, work)
    geoms = np.asarray(layer.geometry.values, dtype=object)
    pts = shapely.point_on_surface(geoms)  # a building goes with the grid holding its inside
    before = _locate(pts, old_ids, old_geoms)
    after = _locate(pts, new_ids, new_geoms)
    moved = np.array([a != b for a, b in zip(before, after, strict=False)])
    for col in ("entity_id", "building_id", "id", "osm_id"):
        if col in layer.columns:
            labels = layer[col].astype(str).to_numpy()
            break
    else:
        labels = np.array([str(i) for i in layer.index], dtype=object)
    frame = gpd.GeoDataFrame(
        {"feature": labels[moved], "old_grid": before[moved], "new_grid": after[moved]},
        geometry=gpd.GeoSeries(geoms[moved], crs=work).to_crs(out_crs).values,
        crs=out_crs,
    )
    return frame, before, after


def diff_grids(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    entities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    staff: pd.DataFrame | None = None,
    id_column: str = "grid_id",
    crs=None,
) -> GridDiff:
    """Compare two versions of the grids.

    Parameters
    ----------
    old, new
        The grids before and after; matched by ``id_column``; never modified.
    entities, buildings
        Features whose grid may change (a building goes with the grid that
        holds a point inside it).
    staff
        Table ``name``, ``phone``, ``grid_id`` (of the old grids): who is
        affected by the change.
    id_column
        The grid id column of both versions.
    crs
        Metric working CRS (default: chosen automatically).

    Returns
    -------
    GridDiff

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32650)
    >>> new = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
    ...     geometry=[box(0, 0, 12, 10), box(12, 0, 20, 10)], crs=32650)
    >>> d = diff_grids(old, new)
    >>> d.table[["grid_id", "status", "gained_m2", "lost_m2", "gained_from"]].values.tolist()
    [['a', 'reshaped', 20.0, 0.0, 'b'], ['b', 'reshaped', 0.0, 20.0, '']]
    """
    for name, frame in (("entities", entities), ("buildings", buildings)):
        if frame is not None and not isinstance(frame, gpd.GeoDataFrame):
            raise LayerError(f"{name}: expected a GeoDataFrame, got {type(frame).__name__}")
    work = working_crs(old, new, entities, buildings, crs=crs)
    out_crs = CRS.from_user_input(new.crs) if new.crs is not None else None
    old_ids, old_geoms = _grids(old, "old grids", id_column, work)
    new_ids, new_geoms = _grids(new, "new grids", id_column, work)
    old_pos = {g: i for i, g in enumerate(old_ids)}
    new_pos = {g: i for i, g in enumerate(new_ids)}

    # pieces that changed grid: old ∩ new for different ids, plus old\∪new and new\∪old
    o_ok = np.array([g is not None for g in old_geoms])
    n_ok = np.array([g is not None for g in new_geoms])
    ntree = shapely.STRtree(new_geoms[n_ok])
    n_idx = np.flatnonzero(n_ok)
    ol, nr = ntree.query(old_geoms[o_ok], predicate="intersects")
    o_idx = np.flatnonzero(o_ok)
    oi, ni = o_idx[ol], n_idx[nr]
    differ = old_ids[oi] != new_ids[ni]
    oi, ni = oi[differ], ni[differ]
    pieces = []
    if len(oi):
        parts, owner, _, _ = polygon_parts(
            shapely.intersection(old_geoms[oi], new_geoms[ni]), min_width=0
        )
        for p, o in zip(parts, owner, strict=False):
            pieces.append((old_ids[oi[o]], new_ids[ni[o]], "moved", p))
    new_union = shapely.union_all(new_geoms[n_ok])
    old_union = shapely.union_all(old_geoms[o_ok])
    for gid, g in zip(old_ids, old_geoms, strict=False):
        if g is not None:
            for p in polygon_parts(
                np.array([shapely.difference(g, new_union)], dtype=object), min_width=0
            )[0]:
                pieces.append((gid, None, "removed", p))
    for gid, g in zip(new_ids, new_geoms, strict=False):
        if g is not None:
            for p in polygon_parts(
                np.array([shapely.difference(g, old_union)], dtype=object), min_width=0
            )[0]:
                pieces.append((None, gid, "added", p))
    pieces = [x for x in pieces if x[3].area >= MIN_CHANGE_M2]
    layer = gpd.GeoDataFrame(
        {
            "old_grid": [p[0] for p in pieces],
            "new_grid": [p[1] for p in pieces],
            "change": [p[2] for p in pieces],
            "area_m2": [p[3].area for p in pieces],
        },
        geometry=gpd.GeoSeries([p[3] for p in pieces], crs=work).to_crs(out_crs).values,
        crs=out_crs,
    )

    ent, e_before, e_after = _moves(
        entities, "entities", work, old_ids, old_geoms, new_ids, new_geoms, out_crs
    )
    bld, b_before, b_after = _moves(
        buildings, "buildings", work, old_ids, old_geoms, new_ids, new_geoms, out_crs
    )

    moved_counts = {}
    for name, before, after in (("entities", e_before, e_after), ("buildings", b_before, b_after)):
        if before is None:
            moved_counts[name] = ({}, {})
            continue
        changed = np.array([x != y for x, y in zip(before, after, strict=True)], dtype=bool)
        moved_counts[name] = (Counter(after[changed].tolist()), Counter(before[changed].tolist()))
    sources: dict[str, set] = {}
    targets: dict[str, set] = {}
    for o, n, _, _ in pieces:
        if o is not None and n is not None:
            sources.setdefault(n, set()).add(str(o))
            targets.setdefault(o, set()).add(str(n))
    rows = []
    for gid in list(old_ids) + [g for g in new_ids if g not in old_pos]:
        og = old_geoms[old_pos[gid]] if gid in old_pos else None
        ng = new_geoms[new_pos[gid]] if gid in new_pos else None
        if og is not None and ng is not None:
            gained = shapely.difference(ng, og).area
            lost = shapely.difference(og, ng).area
            status = "reshaped" if max(gained, lost) >= MIN_CHANGE_M2 else "unchanged"
        else:
            gained = ng.area if ng is not None and og is None else 0.0
            lost = og.area if og is not None and ng is None else 0.0
            status = (
                "added" if gid not in old_pos else "removed" if gid not in new_pos else "reshaped"
            )
        from_ = sorted(sources.get(gid, ()))
        to_ = sorted(targets.get(gid, ()))
        row = {
            "grid_id": gid,
            "status": status,
            "area_old": og.area if og is not None else np.nan,
            "area_new": ng.area if ng is not None else np.nan,
            "gained_m2": gained,
            "lost_m2": lost,
            "gained_from": ",".join(from_),
            "lost_to": ",".join(to_),
        }
        for name, (arrived, left) in moved_counts.items():
            row[f"{name}_in"] = arrived.get(gid, 0)
            row[f"{name}_out"] = left.get(gid, 0)
        rows.append(row)
    table = pd.DataFrame(rows)

    staff_out = None
    if staff is not None:
        st = check_staff(staff)
        by_id = table.set_index("grid_id")
        affected = []
        for rec in st.to_dict("records"):
            gid = str(rec["grid_id"]).strip()
            if gid not in by_id.index:
                continue
            r = by_id.loc[gid]
            if r["status"] == "unchanged" and not (r["entities_in"] or r["entities_out"]):
                continue
            affected.append(
                {
                    "name": rec["name"],
                    "phone": rec["phone"],
                    "grid_id": gid,
                    "change": r["status"],
                    "gained_m2": r["gained_m2"],
                    "lost_m2": r["lost_m2"],
                    "entities_in": r["entities_in"],
                    "entities_out": r["entities_out"],
                }
            )
        staff_out = pd.DataFrame(
            affected,
            columns=[
                "name",
                "phone",
                "grid_id",
                "change",
                "gained_m2",
                "lost_m2",
                "entities_in",
                "entities_out",
            ],
        )
    log.info("diff: %s", {k: v for k, v in table["status"].value_counts().items()})
    return GridDiff(table=table, layer=layer, entities=ent, buildings=bld, staff=staff_out)
