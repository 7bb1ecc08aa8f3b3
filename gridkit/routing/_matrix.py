"""Travel between points over the road network: the time matrix and each leg's line.

Built on :mod:`gridkit.routing.network` (its edge table, snapper and
shortest-path helper): :class:`TravelNetwork` holds what does not depend on
the points (the arcs by travel time, the network's main part) and is built
once per call; :meth:`TravelNetwork.matrix` snaps a set of points and returns
a :class:`PointMatrix`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops

from gridkit.routing import network
from gridkit.routing.network import EdgeTable


@dataclass
class Snapped:
    """Points snapped onto graph edges (arrays aligned with the points)."""

    edge: np.ndarray  # row in the edge table
    offset: np.ndarray  # metres from the edge's u along its geometry
    access: np.ndarray  # metres from the point to the street (straight)
    speed: np.ndarray  # m/s on the edge


class TravelNetwork:
    """Shortest travel between points on a road network.

    Travel is by ``travel_time`` (s) along the graph (the ``length`` at 1 m/s
    where an edge has none); ``length`` (m) is reported for the same paths.
    The walk from a point to its street (``access``) counts at the speed of
    that street. Points snap to the largest (strongly, when one-way streets
    bind) connected part of the network.
    """

    def __init__(self, edges: EdgeTable):
        self.edges = edges
        self.time = np.maximum(edges.times("length"), network.TINY)
        arcs = network.arc_matrix(edges, weight=self.time)
        self.A = arcs.matrix
        self.arc_edge = {
            (int(a), int(b)): int(p) for a, b, p in zip(arcs.frm, arcs.to, arcs.edge, strict=True)
        }
        self.main = np.flatnonzero(network.main_edges(edges))
        self._main_table = network.subset(edges, self.main)

    def snap(self, points: np.ndarray) -> Snapped:
        """Snap points (working CRS) to their nearest edge of the main part."""
        s = network.snap(points, self._main_table, fast=False)
        near = self.main[s.edge]
        e = self.edges
        return Snapped(
            edge=near,
            offset=shapely.line_locate_point(e.geom[near], points),
            access=s.dist,
            speed=e.length[near] / self.time[near],
        )

    def matrix(self, points: np.ndarray) -> PointMatrix:
        """Travel times (s) between the points, with what :meth:`PointMatrix.leg` needs."""
        return PointMatrix(self, self.snap(points))


class PointMatrix:
    """Travel time matrix ``T`` (s) between snapped points, and the legs behind it."""

    def __init__(self, net: TravelNetwork, s: Snapped):
        self.net = net
        self.s = s
        e = net.edges
        frm, to = e.u[s.edge], e.v[s.edge]
        length, oneway = e.length[s.edge], e.oneway[s.edge]
        m = len(s.edge)
        inf = np.inf
        # ways out of a point: towards `to` (always), towards `frm` (two-way only)
        out_node = np.stack([to, frm], axis=1)
        out_len = np.stack([length - s.offset, np.where(oneway, inf, s.offset)], axis=1)
        in_node = np.stack([frm, to], axis=1)
        in_len = np.stack([s.offset, np.where(oneway, inf, length - s.offset)], axis=1)
        sources = np.unique(out_node)
        where = {int(x): i for i, x in enumerate(sources)}
        T, pred = network.shortest_paths(net.A, sources, predecessors=True)
        spd = s.speed[:, None]
        out_t, in_t = out_len / spd, in_len / spd
        best_t = np.full((m, m), inf)
        choice = np.zeros((m, m, 2), dtype=int)
        for a in range(2):
            rows = np.array([where[int(x)] for x in out_node[:, a]])
            for b in range(2):
                cost = out_t[:, a][:, None] + T[rows][:, in_node[:, b]] + in_t[:, b][None, :]
                better = cost < best_t
                best_t = np.where(better, cost, best_t)
                choice[..., 0] = np.where(better, a, choice[..., 0])
                choice[..., 1] = np.where(better, b, choice[..., 1])
        # two points on the same edge: straight along it when allowed
        same = s.edge[:, None] == s.edge[None, :]
        along = s.offset[None, :] - s.offset[:, None]
        direct = np.where(oneway[:, None] & (along < 0), inf, np.abs(along)) / spd
        use_direct = same & (direct <= best_t)
        best_t = np.where(use_direct, direct, best_t)
        acc_t = s.access / s.speed
        best_t = best_t + acc_t[:, None] + acc_t[None, :]
        np.fill_diagonal(best_t, 0.0)
        self.T = best_t
        self._route = (out_node, in_node, choice, use_direct, pred, where)

    def leg(self, i: int, j: int):
        """(length_m, LineString) of the chosen path from point i to point j."""
        out_node, in_node, choice, use_direct, pred, where = self._route
        s, e = self.s, self.net.edges
        if i == j:
            return 0.0, None
        gi, gj = e.geom[s.edge[i]], e.geom[s.edge[j]]
        li, lj = e.length[s.edge[i]], e.length[s.edge[j]]
        if use_direct[i, j]:
            a, b = sorted((s.offset[i], s.offset[j]))
            piece = shapely.ops.substring(gi, a, b)
            if s.offset[j] < s.offset[i]:
                piece = shapely.reverse(piece)
            if piece.geom_type != "LineString" or piece.length <= 0:
                piece = None
            return abs(s.offset[j] - s.offset[i]) + s.access[i] + s.access[j], piece
        a, b = choice[i, j]
        start, goal = int(out_node[i, a]), int(in_node[j, b])
        # leave point i's edge towards `start`
        parts, length = [], 0.0
        head = shapely.ops.substring(gi, s.offset[i], li if a == 0 else 0.0)
        parts.append(head)
        length += li - s.offset[i] if a == 0 else s.offset[i]
        path = [goal]
        row = pred[where[start]]
        while path[-1] != start and row[path[-1]] >= 0:
            path.append(int(row[path[-1]]))
        path.reverse()
        for x, y in zip(path[:-1], path[1:], strict=False):
            p = self.net.arc_edge[(x, y)]
            g = e.geom[p]
            parts.append(g if e.u[p] == x else shapely.reverse(g))
            length += e.length[p]
        tail = shapely.ops.substring(gj, 0.0 if b == 0 else lj, s.offset[j])
        parts.append(tail)
        length += s.offset[j] if b == 0 else lj - s.offset[j]
        coords = [
            np.asarray(p.coords) for p in parts if not p.is_empty and p.geom_type == "LineString"
        ]
        xy = np.vstack(coords) if coords else np.empty((0, 2))
        line = shapely.LineString(xy) if len(xy) >= 2 else None
        return length + s.access[i] + s.access[j], line
