"""The editor's JSON API on the real sample: moves, refusals, lock, rebalance, undo, save,
and the token and Host checks."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from conftest import WEIGHT, border_moves, request, unit_graph

import gridkit as gk


@pytest.fixture(scope="module")
def graph(edit_units):
    return unit_graph(edit_units)


def _grids(state):
    return {g["grid_id"]: g for g in state["grids"]}


def _recount(ed):
    """Weights, unit counts and contiguity of every grid recomputed from scratch."""
    result = ed.result()
    a = result.assignment
    weights = a.groupby("grid_id")[WEIGHT].sum()
    counts = a.groupby("grid_id").size()
    return weights, counts, result.grids.set_index("grid_id")["contiguous"]


def _check_state_against_recount(ed, state):
    weights, counts, _ = _recount(ed)
    grids = _grids(state)
    assert sorted(grids) == sorted(weights.index)
    for gid, g in grids.items():
        assert g["weight"] == pytest.approx(weights[gid])
        assert g["units"] == counts[gid]
        assert g["deviation"] == pytest.approx(g["weight"] / g["target"] - 1)


def test_state_starts_as_the_partition(editor, edit_plan):
    status, state = request(editor, "GET", "/api/state")
    assert status == 200
    grids = _grids(state)
    expected = edit_plan.grids.set_index("grid_id")
    assert sorted(grids) == sorted(expected.index)
    for gid, g in grids.items():
        assert g["weight"] == pytest.approx(expected.loc[gid, "weight"])
        assert g["target"] == pytest.approx(expected.loc[gid, "target"])
        assert g["units"] == expected.loc[gid, "units"]
        assert g["contiguous"] is True and g["locked"] is False
    assert state["tolerance"] == edit_plan.report.tolerance
    assert state["valid"] is True
    off = {i["grid_id"] for i in state["issues"] if i["kind"] == "balance"}
    assert off == set(expected.index[expected["deviation"].abs() > state["tolerance"] + 1e-9])


def test_token_is_required(editor):
    assert request(editor, "GET", "/api/state", token=None)[0] == 403
    assert request(editor, "GET", "/api/state", token="wrong")[0] == 403
    assert request(editor, "GET", "/", token=None)[0] == 403
    assert request(editor, "POST", "/api/save", {}, token=None)[0] == 403
    assert request(editor, "GET", "/api/state", header=False)[0] == 200
    assert request(editor, "GET", "/api/state", header=True)[0] == 200


def test_foreign_host_is_refused(editor):
    port = editor.url.split(":")[2].split("/")[0]
    assert request(editor, "GET", "/api/state", host=f"evil.example:{port}")[0] == 403
    assert request(editor, "GET", "/api/state", host="127.0.0.1.evil.example")[0] == 403
    assert request(editor, "POST", "/api/undo", {}, host="attacker.test")[0] == 403
    assert request(editor, "GET", "/api/state", host=f"localhost:{port}")[0] == 200


def test_move_updates_the_touched_grids(editor, edit_plan, edit_units, graph):
    unit, src, dst = border_moves(edit_plan.assignment, graph, breaking=False)[0]
    before = _grids(request(editor, "GET", "/api/state")[1])
    w = float(edit_units.set_index("unit_id").loc[unit, WEIGHT])
    status, state = request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    assert status == 200, state
    after = _grids(state)
    assert after[src]["weight"] == pytest.approx(before[src]["weight"] - w)
    assert after[dst]["weight"] == pytest.approx(before[dst]["weight"] + w)
    assert (after[src]["units"], after[dst]["units"]) == (before[src]["units"] - 1,
                                                          before[dst]["units"] + 1)
    assert after[src]["contiguous"] and after[dst]["contiguous"]
    assert state["changes"] == [[unit, dst]]
    outlines = {f["properties"]["g"]: f["geometry"] for f in state["outlines"]["features"]}
    assert set(outlines) == {src, dst}  # the page redraws only these two
    assert all(g["type"] in ("LineString", "MultiLineString") for g in outlines.values())
    for gid in set(after) - {src, dst}:
        assert after[gid] == {**before[gid], "colour": after[gid]["colour"]}
    _check_state_against_recount(editor, state)
    # a unit id sent as text finds the same unit; moving it where it is changes nothing
    status, again = request(editor, "POST", "/api/move", {"units": [str(unit)], "grid_id": dst})
    assert status == 200 and again["changes"] == []


def test_neighbouring_grids_get_different_colours(editor, edit_plan, graph):
    for unit, _, dst in border_moves(edit_plan.assignment, graph, breaking=False):
        request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    state = request(editor, "GET", "/api/state")[1]
    colour = {g["grid_id"]: g["colour"] for g in state["grids"]}
    grid = editor.result().assignment.set_index("unit_id")["grid_id"]
    for a, b in graph.edges:
        if grid[a] != grid[b]:
            assert colour[grid[a]] != colour[grid[b]], (grid[a], grid[b])


def test_move_across_a_village_is_refused(editor, edit_plan, graph):
    a = edit_plan.assignment.set_index("unit_id")
    unit, other = next((u, v) for u, v in graph.edges
                       if a.loc[u, "village_code"] != a.loc[v, "village_code"])
    before = request(editor, "GET", "/api/state")[1]
    status, answer = request(editor, "POST", "/api/move",
                             {"units": [unit], "grid_id": a.loc[other, "grid_id"]})
    assert status == 409
    assert "village" in answer["reason"] and str(unit) in answer["reason"]
    assert request(editor, "GET", "/api/state")[1]["grids"] == before["grids"]


def test_move_breaking_a_grid_needs_force(editor, edit_plan, graph):
    unit, src, dst = border_moves(edit_plan.assignment, graph, breaking=True)[0]
    before = request(editor, "GET", "/api/state")[1]
    status, answer = request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    assert status == 409 and "pieces" in answer["reason"] and src in answer["reason"]
    assert request(editor, "GET", "/api/state")[1]["grids"] == before["grids"]
    status, state = request(editor, "POST", "/api/move",
                            {"units": [unit], "grid_id": dst, "force": True})
    assert status == 200
    assert _grids(state)[src]["contiguous"] is False
    assert state["valid"] is False
    assert {"grid_id": src, "kind": "contiguity"}.items() <= next(
        i for i in state["issues"] if i["kind"] == "contiguity").items()
    assert not editor.result().grids.set_index("grid_id").loc[src, "contiguous"]
    assert editor.result().grids.set_index("grid_id").loc[src].geometry.geom_type == \
        "MultiPolygon"


def test_a_grid_is_never_emptied(editor, edit_plan, graph):
    a = edit_plan.assignment
    unit, src, dst = border_moves(a, graph, breaking=False)[0]
    members = a.loc[a["grid_id"] == src, "unit_id"].tolist()
    status, answer = request(editor, "POST", "/api/move",
                             {"units": members, "grid_id": dst, "force": True})
    assert status == 409 and "empty" in answer["reason"]


def test_bad_requests(editor):
    assert request(editor, "POST", "/api/move", b"{not json")[0] == 400
    assert request(editor, "POST", "/api/move", {"grid_id": "x"})[0] == 400
    grid = request(editor, "GET", "/api/state")[1]["grids"][0]["grid_id"]
    status, answer = request(editor, "POST", "/api/move", {"units": ["no-such"], "grid_id": grid})
    assert status == 400 and "no-such" in answer["error"]
    assert request(editor, "POST", "/api/move", {"units": [1], "grid_id": "nope"})[0] == 400
    assert request(editor, "POST", "/api/lock", {"grid_id": "nope"})[0] == 400
    status, answer = request(editor, "POST", "/api/lock", {"grid_id": grid, "locked": "false"})
    assert status == 400 and "true or false" in answer["error"]
    assert request(editor, "POST", "/api/move",
                   {"units": [1], "grid_id": grid, "force": "no"})[0] == 400
    assert request(editor, "GET", "/api/state")[1]["grids"][0]["locked"] is False
    assert request(editor, "GET", "/api/nothing")[0] == 404
    assert request(editor, "POST", "/api/nothing", {})[0] == 404


def test_lock_blocks_moves_in_and_out(editor, edit_plan, graph):
    unit, src, dst = border_moves(edit_plan.assignment, graph, breaking=False)[0]
    status, state = request(editor, "POST", "/api/lock", {"grid_id": dst, "locked": True})
    assert status == 200 and _grids(state)[dst]["locked"] is True
    status, answer = request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    assert status == 409 and "locked" in answer["reason"]
    request(editor, "POST", "/api/lock", {"grid_id": dst, "locked": False})
    request(editor, "POST", "/api/lock", {"grid_id": src, "locked": True})
    status, answer = request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    assert status == 409 and "locked" in answer["reason"]
    request(editor, "POST", "/api/lock", {"grid_id": src, "locked": False})
    assert request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})[0] == 200


def test_rebalance_keeps_locked_grids_and_the_rules(editor, edit_plan, graph):
    moves = border_moves(edit_plan.assignment, graph, breaking=False)
    for unit, _, dst in moves:
        request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    locked = sorted({moves[0][1], moves[0][2]})
    for gid in locked:
        request(editor, "POST", "/api/lock", {"grid_id": gid, "locked": True})
    before_state = request(editor, "GET", "/api/state")[1]
    before = editor.result().assignment.set_index("unit_id")["grid_id"]
    status, state = request(editor, "POST", "/api/rebalance", {})
    assert status == 200, state
    after = editor.result().assignment.set_index("unit_id")["grid_id"]
    in_locked = before.isin(locked)
    assert (after[in_locked] == before[in_locked]).all()
    assert set(after[~in_locked]) <= set(before[~in_locked])  # no unit joins a locked grid
    assert sorted(_grids(state)) == sorted(_grids(before_state))
    assert all(g["contiguous"] for g in state["grids"])
    _check_state_against_recount(editor, state)

    def worst(s):
        return max(abs(g["deviation"]) for g in s["grids"] if not g["locked"])

    assert worst(state) <= worst(before_state) + 1e-9
    assert len(state["changes"]) == int((after != before).sum())
    # a rebalance is undone in one step
    status, undone = request(editor, "POST", "/api/undo", {})
    assert status == 200
    assert (editor.result().assignment.set_index("unit_id")["grid_id"] == before).all()


def test_rebalance_with_every_grid_locked_is_refused(editor):
    for g in request(editor, "GET", "/api/state")[1]["grids"]:
        request(editor, "POST", "/api/lock", {"grid_id": g["grid_id"], "locked": True})
    status, answer = request(editor, "POST", "/api/rebalance", {})
    assert status == 409 and "locked" in answer["reason"]


def test_undo_and_redo(editor, edit_plan, graph):
    start = request(editor, "GET", "/api/state")[1]
    assert request(editor, "POST", "/api/undo", {})[0] == 409
    unit, src, dst = border_moves(edit_plan.assignment, graph, breaking=False)[0]
    moved = request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})[1]
    status, undone = request(editor, "POST", "/api/undo", {})
    assert status == 200 and undone["changes"] == [[unit, src]]
    assert undone["grids"] == start["grids"] and undone["can_redo"]
    status, redone = request(editor, "POST", "/api/redo", {})
    assert status == 200 and redone["grids"] == moved["grids"]
    assert request(editor, "POST", "/api/redo", {})[0] == 409
    request(editor, "POST", "/api/lock", {"grid_id": src, "locked": True})
    assert _grids(request(editor, "POST", "/api/undo", {})[1])[src]["locked"] is False


def test_save_writes_only_the_output_and_validates(editor, edit_plan, graph, tmp_path,
                                                   sample_layers):
    for unit, _, dst in border_moves(edit_plan.assignment, graph, breaking=False):
        assert request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})[0] == 200
    status, state = request(editor, "POST", "/api/save", {})
    assert status == 200
    path = tmp_path / "out" / "plan.gpkg"
    assert state["path"] == str(path)
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(tmp_path / "out") == \
        ["plan.gpkg"]
    assert sorted(gk.list_layers(path)) == ["assignment", "grids"]
    grids = gk.read_layer(path, layer="grids")
    assignment = gk.read_layer(path, layer="assignment")
    assert list(grids.columns) == list(edit_plan.grids.columns)
    assert grids.crs == edit_plan.grids.crs
    assert len(assignment) == len(edit_plan.assignment)
    moved = assignment.set_index("unit_id")["grid_id"] != \
        edit_plan.assignment.set_index("unit_id")["grid_id"]
    assert int(moved.sum()) == 3 == int(assignment["moved"].sum())
    report = gk.validate_coverage(grids, jurisdiction=sample_layers["jurisdiction"],
                                  villages=sample_layers["villages"])
    assert report.summary["gap"] == 0 and report.summary["overlap"] == 0
    assert report.summary.get("crosses_village", 0) == 0, report.summary
    saved = dict(zip(grids["grid_id"], grids["weight"], strict=True))
    for g in state["grids"]:
        assert saved[g["grid_id"]] == pytest.approx(g["weight"])


def test_result_is_the_edited_partition(editor, edit_plan, graph):
    unit, src, dst = border_moves(edit_plan.assignment, graph, breaking=False)[0]
    editor.move([unit], dst)
    result = editor.result()
    assert isinstance(result, gk.Partition)
    assert result.report.moved == 1 and result.report.kept == len(edit_plan.assignment) - 1
    assert result.assignment.set_index("unit_id").loc[unit, "grid_id"] == dst
    w = result.grids.set_index("grid_id")["weight"]
    a = result.assignment.groupby("grid_id")[WEIGHT].sum()
    assert np.allclose(w.sort_index(), a.sort_index())
    assert "geometry" in edit_plan.assignment  # the caller's partition is untouched
    assert edit_plan.assignment.set_index("unit_id").loc[unit, "grid_id"] == src


def test_page_is_self_contained(editor):
    status, html = request(editor, "GET", "/")
    assert status == 200
    assert "L.canvas" in html and "Leaflet" in html

    assert re.findall(r"<script\b[^>]*\bsrc\s*=", html, re.I) == []
    assert re.findall(r"<link\b", html, re.I) == []
    urls = re.findall(r"url\(\s*[\"']?([^\"')]*)", html)
    assert urls and all(u.startswith(("data:", "#")) for u in urls), urls
    assert re.findall(r"@import", html) == []


def test_binds_loopback_only(editor):
    assert editor.url.startswith("http://127.0.0.1:")
    assert editor._server.httpd.server_address[0] == "127.0.0.1"


def test_rebalance_with_every_other_grid_locked(editor, edit_plan, graph):
    """Locked grids cut villages into pieces of free units; each piece keeps its grids."""
    for unit, _, dst in border_moves(edit_plan.assignment, graph, breaking=False):
        request(editor, "POST", "/api/move", {"units": [unit], "grid_id": dst})
    names = [g["grid_id"] for g in request(editor, "GET", "/api/state")[1]["grids"]]
    for gid in names[::2]:
        request(editor, "POST", "/api/lock", {"grid_id": gid, "locked": True})
    before = editor.result().assignment.set_index("unit_id")["grid_id"]
    status, state = request(editor, "POST", "/api/rebalance", {})
    assert status == 200, state
    after = editor.result().assignment.set_index("unit_id")["grid_id"]
    locked = before.isin(names[::2])
    assert (after[locked] == before[locked]).all()
    assert sorted(_grids(state)) == sorted(names)
    assert all(g["contiguous"] for g in state["grids"])


def test_gk_edit_stays_the_function_whatever_is_imported_first():
    import subprocess
    import sys

    code = ("import gridkit.editor.server, gridkit.editor.board\n"
            "import gridkit as gk\nprint(callable(gk.edit), gk.edit.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "gridkit.editor.session"]


def test_context_layers_for_the_map(edit_plan, sample_layers):
    ed = gk.edit(edit_plan, WEIGHT, roads=sample_layers["roads"],
                 buildings=sample_layers["buildings"], show=False)
    try:
        status, context = request(ed, "GET", "/api/context")
        units = request(ed, "GET", "/api/units")[1]
        outlines = request(ed, "GET", "/api/outlines")[1]
    finally:
        ed.stop()
    assert status == 200
    assert len(context["roads"]["features"]) == len(sample_layers["roads"])
    assert len(context["buildings"]["features"]) == len(sample_layers["buildings"])
    assert len(context["villages"]["features"]) == edit_plan.grids["village_code"].nunique()
    assert len(units["features"]) == len(edit_plan.assignment)
    lon, lat = units["features"][0]["properties"]["p"][::-1]
    assert 24 < lon < 26 and 60 < lat < 61  # Helsinki, in longitude/latitude
    assert sorted(f["properties"]["g"] for f in outlines["features"]) == \
        sorted(edit_plan.grids["grid_id"])
