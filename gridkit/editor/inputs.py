"""The units of an editing session: checked, weighed, in villages, with their adjacency.

:func:`prepare` turns units (any polygon layer with ids) and a starting plan
(a grid id per unit) into a :class:`Plan`: the checked units in their own CRS
and in a metric CRS, the unit weights, the village of each unit, the unit
adjacency (computed once, with the road length along shared borders when
roads are given) and a :class:`~gridkit.editor.board.Board`. It also makes the
map's GeoJSON (longitude/latitude) of the units, their villages' boundaries
and the optional roads and buildings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from gridkit.crs import is_metric, to_crs, working_crs
from gridkit.editor.board import Board, UnitGraph
from gridkit.errors import InvalidValueError, MissingColumnError
from gridkit.grids.core.inputs import resolve_weight
from gridkit.layers import check_layer
from gridkit.units.adjacency import unit_adjacency

__all__ = ["Plan", "prepare", "units_geojson", "context_geojson", "grid_outlines"]


@dataclass
class Plan:
    """Everything a session needs about its units (see the module docstring)."""

    units: gpd.GeoDataFrame  # checked, input CRS, without the starting grid column
    metric: gpd.GeoDataFrame
    weight: object  # as given: a column, a dict of column -> factor, or a Series
    id_column: str
    nest_by: str | None
    adjacency: pd.DataFrame
    road_weight: object
    board: Board
    context: dict  # extra layers for the map: roads, buildings (metric)
    lonlat: np.ndarray  # the units in longitude/latitude, for the map (made once)


def prepare(units: gpd.GeoDataFrame, weight, grid_ids, *, id_column: str = "unit_id",
            nest_by: str | None = "village_code", tolerance: float = 0.02,
            targets: dict | None = None, adjacency: pd.DataFrame | None = None,
            roads: gpd.GeoDataFrame | None = None, buildings: gpd.GeoDataFrame | None = None,
            road_weight=None) -> Plan:
    """A :class:`Plan` from units and the grid id of each unit (a sequence aligned on them).

    ``targets`` (grid id -> target weight, e.g. a partition's ``target``
    column) default to the mean grid of each village.
    """
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidValueError(f"units: expected a GeoDataFrame, got {type(units).__name__}")
    required = tuple(c for c in (id_column, nest_by) if c)
    checked = check_layer(units, "units", id_column=id_column, required=required)
    w, _ = resolve_weight(checked, weight)
    grid_ids = pd.Series(np.asarray(grid_ids, dtype=object), index=checked.index)
    if grid_ids.isna().any():
        bad = checked.loc[grid_ids.isna(), id_column].head(5).tolist()
        raise InvalidValueError(f"{int(grid_ids.isna().sum())} unit(s) have no grid id (e.g. "
                                f"{bad}): give every unit a grid, or start from gridkit partition")
    metric = to_crs(checked, checked.crs if is_metric(checked.crs) else working_crs(checked))
    if adjacency is None:
        adjacency = unit_adjacency(metric, id_column=id_column,
                                   roads=None if roads is None else to_crs(roads, metric.crs))
    nest = (metric[nest_by].astype(str).to_numpy() if nest_by
            else np.full(len(metric), "", dtype=object))
    board = _board(metric[id_column].to_numpy(), w, nest, grid_ids.astype(str).to_numpy(),
                   adjacency, tolerance=tolerance, targets=targets)
    context = {name: to_crs(layer, metric.crs) for name, layer in
               (("roads", roads), ("buildings", buildings)) if layer is not None}
    lonlat = _lonlat(np.asarray(metric.geometry.values), metric.crs)
    return Plan(checked, metric, weight, id_column, nest_by, adjacency, road_weight, board,
                context, lonlat)


def _board(ids, w, nest, grid_ids, adjacency, *, tolerance, targets) -> Board:
    index = pd.Index(ids)
    missing = [c for c in ("unit_a", "unit_b") if c not in adjacency.columns]
    if missing:
        raise MissingColumnError(f"adjacency: missing column(s) {missing}; make it with "
                                 "gridkit.unit_adjacency(units)")
    ea, eb = index.get_indexer(adjacency["unit_a"]), index.get_indexer(adjacency["unit_b"])
    if ((ea < 0) | (eb < 0)).any():
        raise InvalidValueError("adjacency: some pairs name units that are not in the units; "
                                "recompute it from these units")
    labels, names = pd.factorize(grid_ids, sort=True)
    names = [str(n) for n in names]
    split = pd.DataFrame({"g": labels, "v": nest}).groupby("g")["v"].nunique()
    if (split > 1).any():
        g = int(split.index[split > 1][0])
        raise InvalidValueError(f"grid {names[g]!r} holds units of several villages: a grid "
                                "never crosses a village boundary; fix the assignment or "
                                "partition again")
    graph = UnitGraph.from_edges(ids, w, nest, ea, eb)
    gw = np.bincount(labels, weights=w, minlength=len(names))
    g_nest = pd.Series(nest).groupby(labels).first().reindex(range(len(names))).to_numpy()
    per_village = pd.Series(gw).groupby(g_nest).transform("mean").to_numpy()
    t = np.array([float(targets[n]) if targets and n in targets else per_village[g]
                  for g, n in enumerate(names)])
    return Board(graph, labels, names, t, tolerance)


def _features(geoms, props: list[dict]) -> list[dict]:
    """GeoJSON features, coordinates rounded to 6 decimals (about 0.1 m)."""
    rounded = shapely.set_precision(geoms, 1e-6)
    return [{"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(g))}
            for g, p in zip(rounded, props, strict=True)]


def _lonlat(geoms: np.ndarray, crs) -> np.ndarray:
    """Geometries in longitude/latitude."""
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)

    def shift(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(np.asarray(geoms, dtype=object), shift)


def units_geojson(plan: Plan) -> dict:
    """The units for the map: ``{"i": position, "id": unit id (text), "v": village,
    "p": [lat, lon] of a point inside}``."""
    metric = plan.metric
    geoms = plan.lonlat
    ids = metric[plan.id_column].astype(str).tolist()
    nest = plan.board.graph.nest
    inside = np.round(shapely.get_coordinates(shapely.point_on_surface(geoms)), 7)
    props = [{"i": i, "id": u, "v": str(nest[i]), "p": [float(inside[i, 1]), float(inside[i, 0])]}
             for i, u in enumerate(ids)]
    return {"type": "FeatureCollection", "features": _features(geoms, props)}


def context_geojson(plan: Plan) -> dict:
    """Village boundaries (lines, from the units) and the optional roads and buildings."""
    metric = plan.metric
    nest = plan.board.graph.nest
    geoms = np.asarray(metric.geometry.values)
    codes = sorted(set(nest.tolist()))
    outlines = [shapely.boundary(shapely.coverage_union_all(geoms[nest == c])) for c in codes]
    out = {"villages": {"type": "FeatureCollection", "features": _features(
        _lonlat(np.asarray(outlines, dtype=object), metric.crs), [{"v": str(c)} for c in codes])}}
    for name, layer in plan.context.items():
        layer_geoms = _lonlat(np.asarray(layer.geometry.values), layer.crs)
        out[name] = {"type": "FeatureCollection",
                     "features": _features(layer_geoms, [{} for _ in layer_geoms])}
    return out


def grid_outlines(plan: Plan, grids) -> dict:
    """The outline (boundary lines) of each of ``grids`` (labels); ``null`` for an empty grid.

    Dissolved from the units' longitude/latitude copy: the union does not depend on the
    coordinates' CRS, and a move then needs no reprojection (a pyproj transformer is
    rebuilt in every new thread, tens of milliseconds, and the server runs each request in
    its own thread).
    """
    board = plan.board
    grids = [int(g) for g in grids]
    features = []
    for g in grids:
        members = plan.lonlat[board.labels == g]
        if len(members) == 0:
            features.append({"type": "Feature", "properties": {"g": board.names[g]},
                             "geometry": None})
            continue
        merged = shapely.coverage_union_all(members)
        if not shapely.is_valid(merged):
            merged = shapely.union_all(members)
        features += _features(np.array([shapely.boundary(merged)], dtype=object),
                              [{"g": board.names[g]}])
    return {"type": "FeatureCollection", "features": features}
