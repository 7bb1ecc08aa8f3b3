"""Fixtures of the editor tests: units of the real sample, a partition, a running editor."""

from __future__ import annotations

import http.client
import json
import warnings
from urllib.parse import urlsplit

import networkx as nx
import pytest

import gridkit as gk
from gridkit.errors import GridkitWarning

WEIGHT = "workload_min"


@pytest.fixture(scope="session")
def edit_units(sample_layers):
    layers = sample_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        built = gk.build_units(layers["roads"], layers["jurisdiction"],
                               villages=layers["villages"], barriers=layers["barriers"],
                               buildings=layers["buildings"], entities=layers["entities"])
    return built.units


@pytest.fixture(scope="session")
def edit_plan(edit_units):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        return gk.partition(edit_units, WEIGHT, k=14)


@pytest.fixture
def editor(edit_plan, tmp_path):
    ed = gk.edit(edit_plan, WEIGHT, output=tmp_path / "out" / "plan.gpkg", show=False)
    yield ed
    ed.stop()


def request(ed, method: str, path: str, body=None, *, token: str | None = "ok",
            host: str | None = None, header: bool = True):
    """(status, JSON) of one request to the editor; ``token="ok"`` sends the real one."""
    parts = urlsplit(ed.url)
    real = parts.query.split("token=", 1)[1]
    token = real if token == "ok" else token
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Host": host or f"127.0.0.1:{parts.port}"}
    target = path
    if token is not None:
        if header:
            headers["X-Gridkit-Token"] = token
        else:
            target = f"{path}?token={token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, target, body=data, headers=headers)
    res = conn.getresponse()
    raw = res.read()
    conn.close()
    kind = res.getheader("Content-Type") or ""
    return res.status, (json.loads(raw) if "json" in kind else raw.decode("utf-8"))


def unit_graph(units, adjacency=None):
    adj = gk.unit_adjacency(units) if adjacency is None else adjacency
    g = nx.Graph()
    g.add_nodes_from(units["unit_id"])
    g.add_edges_from(zip(adj["unit_a"], adj["unit_b"], strict=True))
    return g


def border_moves(assignment, graph, *, breaking: bool):
    """(unit, from grid, to grid) moves to a neighbouring grid of the same village that keep
    both grids in one piece (``breaking=False``) or split the source (``breaking=True``).
    No two moves touch the same grid, so they hold in any order."""
    grid = assignment.set_index("unit_id")["grid_id"].to_dict()
    village = assignment.set_index("unit_id")["village_code"].to_dict()
    out, used = [], set()
    for u in sorted(graph.nodes, key=str):
        src = grid[u]
        if src in used:
            continue
        for v in sorted(graph.neighbors(u), key=str):
            dst = grid[v]
            if dst == src or village[v] != village[u] or dst in used:
                continue
            rest = [x for x in graph.nodes if grid[x] == src and x != u]
            whole = len(rest) > 0 and nx.is_connected(graph.subgraph(rest))
            if whole != breaking and rest:
                out.append((u, src, dst))
                used |= {src, dst}
            break
        if len(out) >= 3:
            break
    return out
