"""Network distances between points: snap to edges, Dijkstra, leg geometry."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


@dataclass
class Snapped:
    """Points snapped onto graph edges (arrays aligned with the points)."""

    edge: np.ndarray  # edge_id
    frm: np.ndarray  # the edge's from_node
    to: np.ndarray  # the edge's to_node
    offset: np.ndarray  # metres from from_node along the edge
    length: np.ndarray  # the edge's length
    oneway: np.ndarray
    access: np.ndarray  # metres from the point to the street (straight)
    speed: np.ndarray  # m/s on the edge
    geom: np.ndarray  # edge geometry (oriented from from_node)


class NetworkMatrix:
    """Shortest travel between points on a road graph.

    Travel is by ``travel_time`` (s) along the graph; ``length`` (m) is
    reported for the same paths. The walk from a point to its street
    (``access``) counts at the speed of that street.
    """

    def __init__(self, G: nx.MultiGraph):
        self.G = G
        rows = [
            (
                d["edge_id"],
                d.get("from_node", u),
                d.get("to_node", v),
                d["length"],
                bool(d.get("oneway", False)),
                d.get("travel_time", d["length"]),
                d["geometry"],
            )
            for u, v, d in G.edges(data=True)
        ]
        self.eid = np.array([r[0] for r in rows])
        self.frm = np.array([r[1] for r in rows])
        self.to = np.array([r[2] for r in rows])
        self.len = np.array([r[3] for r in rows], dtype=float)
        self.oneway = np.array([r[4] for r in rows], dtype=bool)
        self.time = np.maximum(np.array([r[5] for r in rows], dtype=float), 1e-9)
        self.geom = np.array([r[6] for r in rows], dtype=object)
        self.tree = shapely.STRtree(self.geom)
        self.n = max(G.nodes) + 1
        a = np.concatenate([self.frm, self.to[~self.oneway]])
        b = np.concatenate([self.to, self.frm[~self.oneway]])
        t = np.concatenate([self.time, self.time[~self.oneway]])
        ln = np.concatenate([self.len, self.len[~self.oneway]])
        pos = np.concatenate([np.arange(len(self.eid)), np.flatnonzero(~self.oneway)])
        keep = a != b
        a, b, t, ln, pos = a[keep], b[keep], t[keep], ln[keep], pos[keep]
        order = np.lexsort((t, b, a))
        a, b, t, ln, pos = a[order], b[order], t[order], ln[order], pos[order]
        first = np.concatenate([[True], (np.diff(a) != 0) | (np.diff(b) != 0)])
        a, b, t, ln, pos = a[first], b[first], t[first], ln[first], pos[first]
        self.arc_pos = {(int(x), int(y)): int(p) for x, y, p in zip(a, b, pos, strict=True)}
        self.A = csr_matrix((t, (a, b)), shape=(self.n, self.n))
        self.L = {(int(x), int(y)): float(v) for x, y, v in zip(a, b, ln, strict=True)}

    def snap(self, points: np.ndarray, *, main_nodes: np.ndarray | None = None) -> Snapped:
        """Snap points (working CRS) to their nearest edge (of the main component if given)."""
        geoms = self.geom
        if main_nodes is not None:
            ok = np.isin(self.frm, main_nodes) & np.isin(self.to, main_nodes)
            tree = shapely.STRtree(geoms[ok])
            idx_map = np.flatnonzero(ok)
            _, near = tree.query_nearest(points, return_distance=False, all_matches=False)
            near = idx_map[near]
        else:
            _, near = self.tree.query_nearest(points, return_distance=False, all_matches=False)
        g = geoms[near]
        offset = shapely.line_locate_point(g, points)
        access = shapely.distance(g, points)
        speed = self.len[near] / self.time[near]
        return Snapped(
            edge=self.eid[near],
            frm=self.frm[near],
            to=self.to[near],
            offset=offset,
            length=self.len[near],
            oneway=self.oneway[near],
            access=access,
            speed=speed,
            geom=g,
        )

    def matrix(self, s: Snapped):
        """Travel time (s) and length (m) matrices between snapped points, plus route data."""
        m = len(s.edge)
        inf = np.inf
        # ways out of a point: towards `to` (always), towards `frm` (two-way only)
        out_node = np.stack([s.to, s.frm], axis=1)
        out_len = np.stack([s.length - s.offset, np.where(s.oneway, inf, s.offset)], axis=1)
        in_node = np.stack([s.frm, s.to], axis=1)
        in_len = np.stack([s.offset, np.where(s.oneway, inf, s.length - s.offset)], axis=1)
        sources = np.unique(out_node)
        where = {int(x): i for i, x in enumerate(sources)}
        T, pred = dijkstra(self.A, indices=sources, return_predecessors=True)
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
        direct = np.where(s.oneway[:, None] & (along < 0), inf, np.abs(along)) / spd
        use_direct = same & (direct <= best_t)
        best_t = np.where(use_direct, direct, best_t)
        acc_t = s.access / s.speed
        best_t = best_t + acc_t[:, None] + acc_t[None, :]
        np.fill_diagonal(best_t, 0.0)
        self._route = (s, out_node, in_node, choice, use_direct, pred, where)
        return best_t

    def leg(self, i: int, j: int):
        """(length_m, LineString) of the chosen path from point i to point j."""
        s, out_node, in_node, choice, use_direct, pred, where = self._route
        if i == j:
            return 0.0, None
        if use_direct[i, j]:
            a, b = sorted((s.offset[i], s.offset[j]))
            piece = shapely.ops.substring(s.geom[i], a, b)
            if s.offset[j] < s.offset[i]:
                piece = shapely.reverse(piece)
            if piece.geom_type != "LineString" or piece.length <= 0:
                piece = None
            return abs(s.offset[j] - s.offset[i]) + s.access[i] + s.access[j], piece
        a, b = choice[i, j]
        start, goal = int(out_node[i, a]), int(in_node[j, b])
        # leave point i's edge towards `start`
        parts, length = [], 0.0
        head = shapely.ops.substring(s.geom[i], s.offset[i], s.length[i] if a == 0 else 0.0)
        parts.append(head)
        length += s.length[i] - s.offset[i] if a == 0 else s.offset[i]
        path = [goal]
        row = pred[where[start]]
        while path[-1] != start and row[path[-1]] >= 0:
            path.append(int(row[path[-1]]))
        path.reverse()
        for x, y in zip(path[:-1], path[1:], strict=False):
            p = self.arc_pos[(x, y)]
            g = self.geom[p]
            parts.append(g if self.frm[p] == x else shapely.reverse(g))
            length += self.L[(x, y)]
        tail = shapely.ops.substring(s.geom[j], 0.0 if b == 0 else s.length[j], s.offset[j])
        parts.append(tail)
        length += s.offset[j] if b == 0 else s.length[j] - s.offset[j]
        coords = [
            np.asarray(p.coords) for p in parts if not p.is_empty and p.geom_type == "LineString"
        ]
        xy = np.vstack(coords) if coords else np.empty((0, 2))
        line = shapely.LineString(xy) if len(xy) >= 2 else None
        return length + s.access[i] + s.access[j], line
