"""The editor's page in a real headless Chromium: loads clean, shows every grid, a click-move
updates the table, save writes a file that validates, names from the data stay text."""

from __future__ import annotations

import json
import time

import pytest
from browser import chromium  # noqa: F401  (pytest fixture)
from conftest import WEIGHT, border_moves, unit_graph

import gridkit as gk

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = '<img src=x onerror="alert(2)">'


def _wait(driver, script: str, *, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def _rows(driver) -> dict[str, list[str]]:
    return driver.execute_script(
        "var out = {}; document.querySelectorAll('#grids tbody tr').forEach(function (tr) {"
        "  out[tr.dataset.grid] = Array.from(tr.cells).map(function (c) {"
        "    return c.textContent.trim(); }); }); return out;")


@pytest.fixture
def hostile_plan(edit_plan):
    """The sample partition with two grids renamed to markup."""
    a = edit_plan.assignment.drop(columns="grid_id")
    names = sorted(edit_plan.assignment["grid_id"].unique())
    rename = {names[0]: names[0] + HOSTILE, names[1]: names[1] + HOSTILE_IMG}
    a["plan_grid"] = edit_plan.assignment["grid_id"].replace(rename)
    return a, rename


@pytest.fixture
def page_editor(hostile_plan, tmp_path):
    units, _ = hostile_plan
    ed = gk.edit(units, WEIGHT, grid_column="plan_grid", output=tmp_path / "plan.gpkg",
                 show=False)
    yield ed
    ed.stop()


def _open(driver, ed):
    driver.get(ed.url)
    _wait(driver, "return window.gridkitEditor && window.gridkitEditor.ready")
    return driver.execute_script("return window.__gridkitErrors")


def test_page_loads_clean_and_shows_every_grid(chromium, page_editor, hostile_plan):  # noqa: F811
    errors = _open(chromium, page_editor)
    assert errors == []
    state = page_editor.state()
    rows = _rows(chromium)
    assert sorted(rows) == sorted(g["grid_id"] for g in state["grids"])
    for name in hostile_plan[1].values():  # markup from the data is shown as text
        assert rows[name][0] == name
    assert chromium.execute_script("return document.querySelectorAll('#grids img').length") == 0
    drawn = chromium.execute_script("return window.gridkitEditor.layers.filter(Boolean).length")
    assert drawn == len(hostile_plan[0])
    canvases = chromium.execute_script("return document.querySelectorAll('#map canvas').length")
    assert canvases >= 1
    assert "网格" in chromium.find_element("css selector", "#grids thead").text
    assert "Deviation" in chromium.find_element("css selector", "#grids thead").text
    assert chromium.execute_script("return window.__gridkitErrors") == []


def test_click_move_updates_the_table_and_save_validates(chromium, page_editor,  # noqa: F811
                                                         hostile_plan, edit_units, tmp_path,
                                                         sample_layers):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    units, rename = hostile_plan
    assignment = units.rename(columns={"plan_grid": "grid_id"})
    unit, src, dst = border_moves(assignment, unit_graph(edit_units), breaking=False)[0]
    _open(chromium, page_editor)
    chromium.execute_script(
        "var ed = window.gridkitEditor, i = ed.index[arguments[0]];"
        "ed.map.setView(L.latLng(ed.points[i][0], ed.points[i][1]), 17, {animate: false});",
        str(unit))
    time.sleep(0.5)
    before = _rows(chromium)
    point = chromium.execute_script("return window.gridkitEditor.pointOf(arguments[0])",
                                    str(unit))
    box = chromium.find_element("id", "map")
    size = box.size
    ActionChains(chromium).move_to_element_with_offset(
        box, int(point["x"] - size["width"] / 2), int(point["y"] - size["height"] / 2)
    ).click().perform()
    _wait(chromium, "return document.getElementById('selection-count').textContent === '1'")
    selected = chromium.execute_script(
        "var ed = window.gridkitEditor; return Array.from(ed.selected).map("
        "function (i) { return ed.unitIds[i]; });")
    assert selected == [str(unit)]
    Select(chromium.find_element("id", "target")).select_by_value(dst)
    chromium.find_element("id", "move").click()
    want = str(int(before[dst][4]) + 1)
    # the grid's row found by its data attribute compared as text (the id may hold quotes)
    _wait(chromium, "var tr = Array.from(document.querySelectorAll('#grids tbody tr')).find("
                    f"function (r) {{ return r.dataset.grid === {json.dumps(dst)}; }}); "
                    f"return tr && tr.cells[4].textContent === {want!r}")
    after = _rows(chromium)
    assert int(after[src][4]) == int(before[src][4]) - 1
    assert page_editor.result().assignment.set_index("unit_id").loc[unit, "grid_id"] == dst

    chromium.find_element("id", "save").click()
    _wait(chromium, "return document.getElementById('status').textContent.indexOf('saved') >= 0")
    path = tmp_path / "plan.gpkg"
    grids = gk.read_layer(path, layer="grids")
    assert sorted(grids["grid_id"]) == sorted(after)
    report = gk.validate_coverage(grids, jurisdiction=sample_layers["jurisdiction"],
                                  villages=sample_layers["villages"])
    assert report.summary["gap"] == 0 and report.summary["overlap"] == 0
    assert chromium.execute_script("return window.__gridkitErrors") == []


def test_refused_move_is_said_on_the_page(chromium, page_editor, hostile_plan):  # noqa: F811
    units, _ = hostile_plan
    _open(chromium, page_editor)
    a = units.set_index("unit_id")
    other = a[a["village_code"] != a.iloc[0]["village_code"]]["plan_grid"].iloc[0]
    chromium.execute_script("window.gridkitEditor.selected.add(0);")
    chromium.execute_script("document.getElementById('target').value = arguments[0];", other)
    chromium.find_element("id", "move").click()
    status = _wait(chromium, "var s = document.getElementById('status');"
                             "return s.className === 'error' && s.textContent")
    assert "409" in status and "village" in status


def test_brush_selects_the_units_dragged_over(chromium, page_editor, hostile_plan,  # noqa: F811
                                              edit_units):
    from selenium.webdriver.common.action_chains import ActionChains

    units, _ = hostile_plan
    graph = unit_graph(edit_units)
    a, b = next((u, v) for u, v in sorted(graph.edges, key=str))
    _open(chromium, page_editor)
    chromium.execute_script(
        "var ed = window.gridkitEditor, i = ed.index[arguments[0]], j = ed.index[arguments[1]];"
        "ed.map.fitBounds(L.latLngBounds([ed.points[i], ed.points[j]]).pad(1), "
        "{animate: false});", str(a), str(b))
    time.sleep(0.5)
    chromium.find_element("id", "brush").click()
    box = chromium.find_element("id", "map")
    size = box.size
    pa, pb = (chromium.execute_script("return window.gridkitEditor.pointOf(arguments[0])",
                                      str(u)) for u in (a, b))
    steps = 8
    chain = ActionChains(chromium).move_to_element_with_offset(
        box, int(pa["x"] - size["width"] / 2), int(pa["y"] - size["height"] / 2)).click_and_hold()
    for _ in range(steps):  # drag along the straight line from a to b
        chain.move_by_offset(int((pb["x"] - pa["x"]) / steps), int((pb["y"] - pa["y"]) / steps))
    chain.release().perform()
    selected = set(chromium.execute_script(
        "var ed = window.gridkitEditor; return Array.from(ed.selected).map("
        "function (i) { return ed.unitIds[i]; });"))
    assert {str(a), str(b)} <= selected
    # the map did not pan while brushing: the first unit is still where it was
    assert chromium.execute_script("return window.gridkitEditor.pointOf(arguments[0])",
                                   str(a)) == pa
    assert chromium.execute_script("return window.__gridkitErrors") == []
