"""Reach and checkpoint maps: every value from the data stays text, in a real Chromium."""

from __future__ import annotations

import pytest
from browser import chromium  # noqa: F401  (pytest fixture)

import gridkit as gk
from gridkit.publish.reach_maps import _STATUS_NAMES, checkpoints_map, reach_map
from gridkit.publish.webmap import save_map
from gridkit.reach.reach import network_reach
from gridkit.routing.checkpoints import find_checkpoints

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(2)>"
HOSTILE_JS = "${alert(3)}`+alert(4)+`"  # breaks out of a JavaScript template literal
NAMES = [HOSTILE, HOSTILE_IMG, HOSTILE_JS, "前进村", "和平社区"]


@pytest.fixture
def hostile(sample):
    villages = sample["villages"].assign(name=NAMES, code=[f"{c}{HOSTILE_IMG}" for c in NAMES])
    roads = sample["roads"].assign(name=[NAMES[i % 5] for i in range(len(sample["roads"]))])
    facilities = sample["entities"].iloc[:3].assign(name=NAMES[:3])
    return {**sample, "villages": villages, "roads": roads, "facilities": facilities}


def _tooltips_js():
    return """
    var m = Object.keys(window).map(function (k) { try { return window[k]; }
        catch (e) { return null; } }).find(function (v) { return v instanceof L.Map; });
    var texts = [], nodes = 0;
    if (!m) { return [texts, nodes, window.__gridkitErrors.concat(['no map'])]; }
    function read(owner, layer) {
        var at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
        layer.fire('mouseover', {latlng: at}, true);  // as the mouse does
        var el = owner.getTooltip().getElement();
        texts.push(el.innerText);
        nodes += el.querySelectorAll('script, img').length;
        layer.fire('mouseout', {latlng: at}, true);
    }
    m.eachLayer(function (g) {
        if (!g.getTooltip || !g.getTooltip()) { return; }
        if (g instanceof L.GeoJSON) { g.eachLayer(function (l) { read(g, l); }); }
        else if (!g.feature) { read(g, g); }
    });
    // images other than map tiles (which fail offline) would come from the data
    nodes += document.querySelectorAll('img:not(.leaflet-tile)').length;
    var errors = window.__gridkitErrors.filter(function (e) { return e !== 'error'; });
    return [texts, nodes, errors];
    """


def _title_and_legend(driver) -> tuple[str, list[str]]:
    return driver.execute_script("""
        var title = document.querySelector('.gridkit-title');
        var rows = Array.from(document.querySelectorAll('.gridkit-legend div'))
            .filter(function (d) { return d.style.display !== 'none'; })
            .map(function (d) { return d.textContent; });
        return [title ? title.textContent : null, rows];
    """)


def _open(driver, path):
    driver.get(path.as_uri())
    driver.execute_script("return 1")
    return driver.execute_script(_tooltips_js())


@pytest.mark.browser
def test_reach_map_values_stay_text(chromium, hostile, tmp_path):  # noqa: F811
    result = network_reach(
        hostile["buildings"],
        hostile["facilities"],
        hostile["roads"],
        max_distance=500,
        facility_id="name",
    )
    path = save_map(reach_map(result, villages=hostile["villages"]), tmp_path / "reach.html")
    texts, nodes, errors = _open(chromium, path)
    assert errors == [] and nodes == 0
    shown = "\n".join(texts)
    for name in NAMES:
        assert name in shown  # the names are shown, as text
    assert sum(HOSTILE_IMG in t for t in texts) >= len(hostile["villages"])
    assert len(texts) > len(result.points)  # every point, area, village and facility has one
    title, legend = _title_and_legend(chromium)
    assert title == "服务可达范围 Service reach"
    statuses = set(result.points["status"])
    assert {"reached", "out_of_reach"} <= statuses
    expected = {"村/社区界 village boundary", "服务区 service area", "设施 facility"}
    expected |= {_STATUS_NAMES[s] for s in statuses}
    assert expected <= set(legend)
    assert "Map data © OpenStreetMap contributors (ODbL)" in legend  # OSM data: the credit


@pytest.mark.browser
def test_checkpoints_map_values_stay_text(chromium, hostile, tmp_path):  # noqa: F811
    cp = find_checkpoints(
        hostile["roads"], hostile["villages"], jurisdiction=hostile["jurisdiction"]
    )
    path = save_map(checkpoints_map(cp), tmp_path / "checkpoints.html")
    texts, nodes, errors = _open(chromium, path)
    assert errors == [] and nodes == 0
    shown = "\n".join(texts)
    for name in NAMES:
        assert name in shown
    assert len(texts) >= len(cp.points) + len(cp.per_village)
    title, legend = _title_and_legend(chromium)
    assert title == "村/社区出入口卡口 Checkpoints"
    assert "村/社区界 village boundary" in legend
    assert "主要道路卡口 on a main road (motorway .. tertiary)" in legend


def test_checkpoints_off_the_earth_are_refused(sample):
    from dataclasses import replace

    cp = find_checkpoints(sample["roads"], sample["villages"])
    metric = cp.points.to_crs(32635)
    far = replace(cp, points=metric.set_geometry(metric.geometry.translate(1e12, 0)))
    with pytest.raises(gk.CRSError, match="checkpoints: .*longitude/latitude"):
        checkpoints_map(far)
