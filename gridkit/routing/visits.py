"""Site visits: the order in which to visit entities over the road network.

:func:`visit_route` starts and ends at a base point (a staff office, or the
most central site's street), snaps every entity to its nearest street, builds
the travel-time matrix over the network (scipy Dijkstra; one-way streets
bind when driving) and orders the visits with a local-search TSP solver
(:mod:`gridkit.routing._tsp`: nearest neighbour, 2-opt, Or-opt, iterated
local search; no OR-Tools needed). Times: travel plus the service minutes of
each entity (``minutes_per_visit`` from :func:`gridkit.workload.classify_entities`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from gridkit.crs import to_crs
from gridkit.errors import InvalidValueError, MissingColumnError
from gridkit.layers import check_layer
from gridkit.routing._matrix import TravelNetwork
from gridkit.routing._tsp import solve_tsp, tour_cost
from gridkit.routing.network import edge_table
from gridkit.routing.roadgraph import road_graph

__all__ = ["visit_route", "VisitRoute"]

log = logging.getLogger(__name__)


@dataclass
class VisitRoute:
    """An ordered round of visits.

    Attributes
    ----------
    stops
        The entities in visit order (``order`` 1..n) with ``leg_m``,
        ``travel_min`` (from the previous stop), ``arrival_min`` (from the
        start), ``service_min``, ``departure_min``; input CRS.
    legs
        One line per leg (base -> first stop, ..., last stop -> base) with
        ``order``, ``length_m``, ``minutes``.
    length_m, travel_min, service_min
        Totals; ``total_min`` = travel + service.
    """

    stops: gpd.GeoDataFrame
    legs: gpd.GeoDataFrame
    length_m: float
    travel_min: float
    service_min: float

    @property
    def total_min(self) -> float:
        return self.travel_min + self.service_min


def travel_network(G: nx.MultiGraph) -> TravelNetwork:
    """What visit rounds need of a road graph, built once (the graph is not modified).

    Pass it as ``network=`` to :func:`base_matrix` to reuse it for many sets of points.
    """
    return TravelNetwork(edge_table(G))


def _service_minutes(entities: pd.DataFrame, column: str | None, default: float) -> np.ndarray:
    if column and column in entities.columns:
        vals = pd.to_numeric(entities[column], errors="coerce")
        if vals.isna().any() or (vals < 0).any():
            bad = entities.index[vals.isna() | (vals < 0)]
            raise InvalidValueError(
                f"entities: column {column!r} must hold minutes >= 0; "
                f"bad at index {bad[:5].tolist()}"
            )
        return vals.to_numpy(dtype=float)
    return np.full(len(entities), float(default))


def visit_route(
    entities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    *,
    graph: nx.MultiGraph | None = None,
    base=None,
    minutes_column: str | None = "minutes_per_visit",
    default_minutes: float = 10.0,
    mode: str = "walk",
    speeds=None,
    time_limit: float = 0.7,
    seed: int = 0,
    crs=None,
) -> VisitRoute:
    """The shortest round from a base point through every entity and back.

    Parameters
    ----------
    entities
        Points to visit. Never modified.
    roads
        The roads layer (ignored when ``graph`` is given).
    graph
        A prebuilt :func:`gridkit.road_graph` graph.
    base
        A shapely Point in the entities' CRS (a staff office). Default: the
        site whose street position minimises the total travel to the others.
    minutes_column
        Service minutes per visit (default ``minutes_per_visit``); when the
        column is absent every visit takes ``default_minutes``.
    mode, speeds, crs
        Passed to :func:`gridkit.road_graph` when it builds the graph.
    time_limit
        Seconds for the local search (200 sites: well under 2 s).
    seed
        Seed of the local search's kicks.

    Examples
    --------
    >>> from gridkit import load_sample
    >>> s = load_sample()
    >>> r = visit_route(s["entities"].head(20), s["roads"], time_limit=0.2)
    >>> r.stops["order"].tolist() == list(range(1, 21))
    True
    """
    entities = check_layer(entities, "entities", id_column="")
    if graph is None:
        if roads is None:
            raise MissingColumnError("visit_route: give `roads` or a prebuilt `graph`")
        graph = road_graph(roads, mode=mode, speeds=speeds, crs=crs)
    wcrs = graph.graph["crs"]
    metric = to_crs(entities, wcrs)
    pts = metric.geometry.to_numpy()
    service = _service_minutes(entities, minutes_column, default_minutes)
    bpt = None if base is None else gpd.GeoSeries([base], crs=entities.crs).to_crs(wcrs).iloc[0]
    nm, T, idx = base_matrix(graph, pts, bpt)
    if not np.isfinite(T).all():
        raise InvalidValueError(
            "visit_route: some entities cannot be reached over the road network"
        )
    order = solve_tsp(T, time_limit=time_limit, seed=seed)
    log.info("visit route: %d stops, %.1f min travel", len(pts), tour_cost(T, order) / 60)
    return _assemble(entities, nm, T, idx, order, service, entities.crs, wcrs)


def base_matrix(G: nx.MultiGraph, pts: np.ndarray, base=None, *, network=None):
    """Travel-time matrix (s) with the base at index 0 and the points at 1..n.

    Without ``base`` the base is the most central point (least total travel
    to and from the others). Returns ``(matrix_object, T, idx)``: ``idx``
    maps an index of ``T`` to the point index for ``matrix_object.leg``.
    ``network``: a :func:`travel_network` of ``G`` to reuse (default: built here).
    """
    net = network if network is not None else travel_network(G)
    if base is not None:
        pm = net.matrix(np.concatenate([[base], pts]))
        return pm, pm.T, np.arange(len(pts) + 1)
    pm = net.matrix(pts)
    inner = pm.T
    finite = np.where(np.isfinite(inner), inner, 1e12)
    c = int(np.argmin(finite.sum(axis=0) + finite.sum(axis=1)))
    idx = np.concatenate([[c], np.arange(len(pts))])
    return pm, inner[np.ix_(idx, idx)], idx


def _assemble(entities, nm, T, idx, order, service, out_crs, wcrs) -> VisitRoute:
    seq = list(order) + [0]
    legs, stops = [], []
    clock = 0.0
    total_len = 0.0
    for k, (a, b) in enumerate(zip(seq[:-1], seq[1:], strict=False)):
        length, line = nm.leg(int(idx[a]), int(idx[b]))
        minutes = T[a, b] / 60
        clock += minutes
        total_len += length
        legs.append(
            {
                "order": k + 1,
                "from_stop": int(a),
                "to_stop": int(b),
                "length_m": length,
                "minutes": minutes,
                "geometry": line,
            }
        )
        if b != 0:
            i = int(b) - 1
            stops.append(
                {
                    "_row": i,
                    "order": k + 1,
                    "leg_m": length,
                    "travel_min": minutes,
                    "arrival_min": clock,
                    "service_min": float(service[i]),
                    "departure_min": clock + float(service[i]),
                }
            )
            clock += float(service[i])
    info = pd.DataFrame(stops)
    out = entities.iloc[info["_row"].to_numpy()].copy()
    for col in ("order", "leg_m", "travel_min", "arrival_min", "service_min", "departure_min"):
        out[col] = info[col].to_numpy()
    legs_gdf = gpd.GeoDataFrame(legs, geometry="geometry", crs=wcrs).to_crs(out_crs)
    travel = float(sum(row["minutes"] for row in legs))
    return VisitRoute(
        stops=out,
        legs=legs_gdf,
        length_m=total_len,
        travel_min=travel,
        service_min=float(service.sum()),
    )
