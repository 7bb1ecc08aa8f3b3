"""Web maps: colouring, escaping, one self-contained file, and a real headless Chromium."""

from __future__ import annotations

import errno
import io
import json
import re
import warnings

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import chromium  # noqa: F401  (pytest fixture)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

import gridkit as gk
from gridkit.publish._assets import ExternalResourceError
from gridkit.publish._colour import PALETTE, grid_colours, neighbour_pairs
from gridkit.publish.webmap import RISK_COLOURS, grid_map, save_map, write_grid_maps

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def grids(sample):
    g = sample["villages"].rename(columns={"code": "village_code"})
    g["grid_id"] = [f"G{i}" for i in range(len(g))]
    g["name"] = ["前进村", HOSTILE, "和平社区", "示例 网格", "Kallio"]
    return gk.assign_codes(g)


@pytest.fixture
def staff(grids):
    return pd.DataFrame(
        {
            "name": ["示例人员 01", HOSTILE_IMG, "示例人员 03", "示例人员 04", "示例人员 05"],
            "phone": [f"000-0000-000{i}" for i in range(1, 6)],
            "grid_id": ["G0", "G1", "G2", "G3", "G4"],
        }
    )


def _geojson_layers(m: folium.Map) -> dict[str, folium.GeoJson]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.GeoJson)}


def _external_loads(html: str) -> list[str]:
    """URLs the page would load by itself: script src, stylesheet links, CSS url(), imports."""
    urls = re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)", html, re.I)
    urls += [
        h
        for tag in re.findall(r"<link\b[^>]*>", html, re.I)
        for h in re.findall(r"href\s*=\s*[\"']([^\"']+)", tag, re.I)
    ]
    urls += re.findall(r"url\(\s*[\"']?(https?://[^\"')]+)", html, re.I)
    urls += re.findall(r"@import\s+[\"']?(https?://[^\"';]+)", html, re.I)
    return urls


# --- colouring ---------------------------------------------------------------


def _check_colouring(geoms):
    colours = grid_colours(geoms)
    pairs = neighbour_pairs(geoms)
    for a, b in pairs:
        assert colours[a] != colours[b]
    return colours, pairs


def test_neighbours_differ_on_sample(sample_layers):
    geoms = sample_layers["villages"].geometry.values
    colours, pairs = _check_colouring(geoms)
    assert len(pairs) >= 4  # the five postcode areas tile a rectangle
    assert set(colours) <= set(PALETTE)


def test_corner_contact_is_not_a_neighbour():
    geoms = np.array([box(0, 0, 10, 10), box(10, 10, 20, 20), box(10, 0, 20, 10)])
    pairs = {tuple(p) for p in neighbour_pairs(geoms).tolist()}
    assert pairs == {(0, 2), (1, 2)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=3, max_size=40, unique=True
    )
)
def test_voronoi_tiling_is_properly_coloured(points):
    cells = shapely.voronoi_polygons(
        shapely.MultiPoint(points), extend_to=box(-10, -10, 1010, 1010)
    )
    geoms = np.array([c.intersection(box(-10, -10, 1010, 1010)) for c in cells.geoms])
    geoms = geoms[~shapely.is_empty(geoms)]
    _check_colouring(geoms)


@given(st.integers(1, 8), st.integers(1, 8))
@settings(max_examples=20, deadline=None)
def test_rectangular_grid_coloured(rows, cols):
    geoms = np.array(
        [
            box(c * 100, r * 100, c * 100 + 100, r * 100 + 100)
            for r in range(rows)
            for c in range(cols)
        ]
    )
    colours, pairs = _check_colouring(geoms)
    assert len(pairs) == rows * (cols - 1) + cols * (rows - 1)


# --- the map object ----------------------------------------------------------


def test_map_has_layers_popups_and_never_mutates(grids, sample, staff):
    before = grids.copy()
    ent_before = sample["entities"].copy()
    m = grid_map(
        grids,
        villages=sample["villages"],
        roads=sample["roads"],
        entities=sample["entities"],
        staff=staff,
        tiles="osm",
        title="示例",
    )
    layers = _geojson_layers(m)
    assert {"网格 grids", "村/社区 villages", "道路 roads", "主体 entities"} <= set(layers)
    feats = layers["网格 grids"].data["features"]
    assert len(feats) == len(grids)
    popup = dict(map(tuple, feats[0]["properties"]["_popup"]))
    assert popup["网格编码 Code"] == grids["grid_code"].iloc[0]
    assert popup["责任人 Persons"] == "示例人员 01  000-0000-0001"  # each with their phone
    assert int(popup["主体户数 Entities"].replace(",", "")) > 0
    # entity counts per grid add up to the entities inside the jurisdiction
    total = sum(
        int(dict(map(tuple, f["properties"]["_popup"]))["主体户数 Entities"].replace(",", ""))
        for f in feats
    )
    assert total == len(sample["entities"])
    pd.testing.assert_frame_equal(pd.DataFrame(grids), pd.DataFrame(before))
    pd.testing.assert_frame_equal(pd.DataFrame(sample["entities"]), pd.DataFrame(ent_before))


def test_fields_choose_popup_rows(grids):
    m = grid_map(grids, tiles=None, fields={"name": "名称", "grid_code": "编码"})
    rows = _geojson_layers(m)["网格 grids"].data["features"][0]["properties"]["_popup"]
    assert [r[0] for r in rows] == ["名称", "编码"]
    with pytest.raises(ValueError, match="does_not_exist"):
        grid_map(grids, tiles=None, fields=["does_not_exist"])


# --- what opens by default, and what the popups say --------------------------

INTERNAL = (
    "weight",
    "target",
    "deviation",
    "polsby_popper",
    "contiguous",
    "deadhead_m",
    "lower_bound_m",
    "gap",
    "method",
    "ratio",
    "components",
    "rural",
)


@pytest.fixture(scope="module")
def patrol(_sample_layers):
    """Real patrol routes of two sample villages (the router's own columns)."""
    s = _sample_layers
    g = s["villages"].rename(columns={"code": "village_code"}).iloc[:2]
    g["grid_id"] = ["G0", "G1"]
    return gk.patrol_routes(None, g, graph=gk.road_graph(s["roads"])).routes


def _popups(layer) -> list[dict[str, str]]:
    return [dict(map(tuple, f["properties"]["_popup"])) for f in layer.data["features"]]


def _all_layers(grids, sample, staff, patrol, **kwargs):
    issues = gk.validate_coverage(
        grids.iloc[1:], jurisdiction=sample["jurisdiction"], villages=sample["villages"]
    ).issues
    assert len(issues)  # the missing first grid leaves a gap
    m = grid_map(
        grids,
        villages=sample["villages"],
        roads=sample["roads"],
        entities=sample["entities"],
        routes=patrol,
        issues=issues,
        staff=staff,
        tiles=None,
        **kwargs,
    )
    return m, issues


def test_default_layers_grids_labels_villages_on_the_rest_switched_on(grids, sample, staff, patrol):
    m, _ = _all_layers(grids, sample, staff, patrol)
    shown = {
        ch.layer_name: ch.show
        for ch in m._children.values()
        if isinstance(ch, (folium.GeoJson, folium.FeatureGroup))
    }
    assert shown == {
        "村/社区 villages": True,
        "道路 roads": True,
        "网格 grids": True,
        "网格编码 labels": True,
        "主体 entities": False,
        "巡查路线 routes": False,
        "问题 issues": False,
    }
    html = m.get_root().render()
    for ch in m._children.values():  # a layer not shown is never added to the map
        if isinstance(ch, folium.GeoJson):
            added = f"{ch.get_name()}.addTo({m.get_name()})" in html
            assert added == ch.show, ch.layer_name
    # the legend tells where to switch the others on, and stands for every layer
    legend = next(ch for ch in m._children.values() if type(ch).__name__ == "Legend")
    assert "主体 entities" in legend.note and "巡查路线 routes" in legend.note
    assert "OpenStreetMap" in legend.note  # OSM data without OSM tiles: the credit
    tied = {it[3] for it in legend.items}
    assert tied == {ch.get_name() for ch in m._children.values() if isinstance(ch, folium.GeoJson)}


def test_grid_popups_are_human_figures_only(grids, sample, staff, patrol):
    internal = grids.assign(
        weight=1234.5,
        target=1200.0,
        deviation=0.03,
        polsby_popper=0.4,
        contiguous=True,
        workload_min=[90.0, 600.0, 30.0, 6000.0, 0.0],
    )
    m, _ = _all_layers(internal, sample, staff, patrol)
    popups = _popups(_geojson_layers(m)["网格 grids"])
    metric = grids.to_crs(grids.estimate_utm_crs())
    villages = dict(zip(sample["villages"]["code"], sample["villages"]["name"], strict=True))
    for i, popup in enumerate(popups):
        assert set(popup) <= {
            "网格 Grid",
            "网格编码 Code",
            "网格标识 Id",
            "村/社区 Village",
            "责任人 Persons",
            "联系电话 Phones",
            "面积 Area",
            "户数 Households",
            "主体户数 Entities",
            "重点/一般/免检 Key/general/exempt",
            "一/二/三类风险 Risk 1/2/3",
            "月工作量 Workload",
        }
        text = " ".join(popup) + " " + " ".join(popup.values())
        assert not any(word in text for word in INTERNAL), text
        code = grids["village_code"].iloc[i]
        assert popup["村/社区 Village"] == f"{villages[code]} ({code})"
        assert popup["网格 Grid"] == grids["name"].iloc[i]
        assert popup["网格标识 Id"] == grids["grid_id"].iloc[i]
        ha = float(popup["面积 Area"].removesuffix(" ha").replace(",", ""))
        assert ha == pytest.approx(metric.area.iloc[i] / 1e4, abs=0.1)
        risks = [int(x.replace(",", "")) for x in popup["一/二/三类风险 Risk 1/2/3"].split(" / ")]
        assert sum(risks) <= int(popup["主体户数 Entities"].replace(",", ""))
    assert popups[0]["月工作量 Workload"] == "1.5 小时/月 h per month"
    assert popups[3]["月工作量 Workload"] == "100.0 小时/月 h per month"


def test_route_and_issue_popups_are_humanised(grids, sample, staff, patrol):
    m, issues = _all_layers(grids, sample, staff, patrol)
    layers = _geojson_layers(m)
    routes = _popups(layers["巡查路线 routes"])
    assert len(routes) == len(patrol)
    for popup, (_, row) in zip(routes, patrol.iterrows(), strict=True):
        text = " ".join(popup) + " " + " ".join(popup.values())
        assert not any(word in text for word in INTERNAL), text
        # the grid by the code the map shows, not by its internal id
        assert popup["网格 Grid"] == grids.set_index("grid_id").loc[row["grid_id"], "grid_code"]
        assert popup["路线长度 Length"] == f"{row['length_m'] / 1000:,.2f} km"
        minutes = round(row["minutes"])
        h, mm = divmod(minutes, 60)
        expected = (
            f"{minutes} 分钟 min" if minutes < 60 else f"{h} 小时 {mm} 分钟 ({h} h {mm:02d} min)"
        )
        assert popup["用时 Time"] == expected
        assert ("无法到达 Not reachable" in popup) == (row["unreachable_m"] >= 1)
    first = _popups(layers["问题 issues"])[0]
    assert first["问题 Issue"] == "缝隙 gap" and issues["kind"].iloc[0] == "gap"
    assert set(first) <= {"问题 Issue", "网格 Grids", "面积 Area", "说明 Detail"}
    ent = _popups(layers["主体 entities"])[0]
    assert ent["名称 Name"] == sample["entities"]["name"].iloc[0]
    assert ent["风险度 Risk"].startswith(("一类", "二类", "三类"))


def test_every_grid_map_has_a_title_and_a_legend(grids, sample, tmp_path):
    m = grid_map(grids, villages=sample["villages"], tiles=None)
    html = m.get_root().render()
    assert json.dumps(f"网格图 Grid map · {len(grids)} 个网格 grids") in html
    assert "gridkit-legend" in html and "gridkit-title" in html
    for path in write_grid_maps(grids, tmp_path, villages=sample["villages"], tiles=None):
        page = path.read_text(encoding="utf-8")
        assert "gridkit-legend" in page and "gridkit-title" in page
        assert json.dumps("本网格 this grid") in page  # the emphasised grid in the legend


def test_tianditu_needs_key(grids):
    with pytest.raises(ValueError, match="tianditu_key"):
        grid_map(grids, tiles="tianditu")
    html = grid_map(grids, tiles="tianditu", tianditu_key="K123").get_root().render()
    assert "tk=K123" in html
    with pytest.raises(ValueError, match="unknown `tiles`"):
        grid_map(grids, tiles="google")


def _china_grids():
    # two 1 km grids in Beijing (CGCS2000 lon/lat)
    g = gpd.GeoDataFrame(
        {"grid_id": ["a", "b"], "village_code": ["110101001001", "110101001001"]},
        geometry=[box(116.38, 39.90, 116.39, 39.91), box(116.39, 39.90, 116.40, 39.91)],
        crs=4490,
    )
    return g


def test_amap_shifts_into_gcj02_and_back():
    g = _china_grids()
    plain = _geojson_layers(grid_map(g, tiles=None))["网格 grids"].data["features"][0]
    shifted = _geojson_layers(grid_map(g, tiles="amap"))["网格 grids"].data["features"][0]
    p0 = np.array(plain["geometry"]["coordinates"][0])
    p1 = np.array(shifted["geometry"]["coordinates"][0])
    exp_lon, exp_lat = gk.wgs84_to_gcj02(p0[:, 0], p0[:, 1])
    np.testing.assert_allclose(p1[:, 0], exp_lon, atol=1e-7)
    np.testing.assert_allclose(p1[:, 1], exp_lat, atol=1e-7)
    assert np.abs(p1 - p0).max() > 1e-3  # hundreds of metres
    # the same grids digitised in GCJ-02 come back to where they were
    gcj = gk.to_gcj02(g)
    back = _geojson_layers(grid_map(gcj, tiles=None, input_gcj02=True))["网格 grids"]
    p2 = np.array(back.data["features"][0]["geometry"]["coordinates"][0])
    np.testing.assert_allclose(p2, p0, atol=2e-7)


def test_gcj02_input_must_be_lonlat(grids):
    with pytest.raises(gk.CRSError, match="longitude/latitude"):
        grid_map(grids.to_crs(32635), tiles=None, input_gcj02=True)


def test_amap_outside_china_is_not_shifted(grids):
    a = _geojson_layers(grid_map(grids, tiles=None))["网格 grids"].data
    b = _geojson_layers(grid_map(grids, tiles="amap"))["网格 grids"].data
    assert a["features"][0]["geometry"] == b["features"][0]["geometry"]


# --- saving -------------------------------------------------------------------


def test_saved_map_is_self_contained(grids, sample, tmp_path):
    m = grid_map(grids, villages=sample["villages"], entities=sample["entities"], tiles="osm")
    path = save_map(m, tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    assert _external_loads(html) == []
    assert "L.map(" in html and "jQuery" in html and ".leaflet-pane" in html
    assert "data:image/png;base64," in html  # Leaflet's control images inlined
    # the only network address the page uses is the tile server
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert HOSTILE not in html and HOSTILE_IMG not in html


def test_unvendored_library_is_refused(grids, tmp_path):
    m = grid_map(grids, tiles=None)
    from folium.plugins import Fullscreen

    Fullscreen().add_to(m)  # links its plugin's script from a CDN
    with pytest.raises(ExternalResourceError, match="not vendored"):
        save_map(m, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_per_grid_maps(grids, sample, staff, tmp_path):
    staff = pd.concat(
        [staff, pd.DataFrame({"name": ["x", "y"], "phone": ["1", "2"], "grid_id": ["G3", "G4"]})],
        ignore_index=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # each map gets only its own grids' persons
        paths = write_grid_maps(
            grids, tmp_path / "grids", roads=sample["roads"], staff=staff, tiles=None
        )
    assert [p.stem for p in paths] == grids["grid_code"].tolist()
    html = paths[2].read_text(encoding="utf-8")
    assert _external_loads(html) == []
    # its title: the grid's name and code
    assert json.dumps(f"网格示意图 Grid map · 和平社区 {grids['grid_code'].iloc[2]}") in html


# --- in a real browser --------------------------------------------------------


def _find_map_js():
    return (
        "var m = Object.keys(window).map(function (k) { try { return window[k]; } "
        "catch (e) { return null; } }).find(function (v) { return v instanceof L.Map; });"
    )


@pytest.mark.browser
def test_map_in_headless_chromium(chromium, grids, sample, staff, tmp_path):  # noqa: F811
    from PIL import Image

    m = grid_map(
        grids,
        villages=sample["villages"],
        roads=sample["roads"],
        entities=sample["entities"],
        staff=staff,
        tiles=None,
        title="网格示意图 示例",
    )
    path = save_map(m, tmp_path / "map.html")
    driver = chromium
    driver.get(path.as_uri())
    driver.execute_script("return 1")  # page loaded
    # no script errors: the page's own error hook and the console
    errors = driver.execute_script("return window.__gridkitErrors")
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [] and severe == []
    # grids are drawn: one SVG path per grid with a real outline
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".map(function (p) { return [p.getAttribute('fill'), p.getAttribute('d').length]; });"
    )
    grid_paths = [f for f in fills if f[0] and f[0].lower() in PALETTE]
    assert len(grid_paths) == len(grids) and all(n > 20 for _, n in grid_paths)
    # entities are a layer the user switches on: none drawn, none in the legend yet
    risk_fills = {c.lower() for c in RISK_COLOURS.values()} | {"#666"}
    assert not [f for f in fills if f[0] and f[0].lower() in risk_fills]
    legend_js = (
        "return Array.from(document.querySelectorAll('.gridkit-legend div'))"
        ".filter(function (d) { return d.style.display !== 'none'; })"
        ".map(function (d) { return d.textContent; });"
    )
    legend = driver.execute_script(legend_js)
    assert "网格 grid (neighbours in other colours)" in legend
    assert "村/社区界 village boundary" in legend and "一类风险 risk 1" not in legend
    assert "主体 entities" in driver.find_element("css selector", ".gridkit-legend").text
    driver.execute_script("""
        Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
            .filter(function (l) { return l.textContent.indexOf('主体 entities') >= 0; })
            .forEach(function (l) { l.querySelector('input').click(); });
    """)
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".map(function (p) { return [p.getAttribute('fill'), p.getAttribute('d').length]; });"
    )
    dots = [f for f in fills if f[0] and f[0].lower() in risk_fills]
    assert len(dots) == len(sample["entities"])
    assert "一类风险 risk 1" in driver.execute_script(legend_js)
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.gridkit-label span'))"
        ".map(function (s) { return s.textContent; });"
    )
    assert sorted(labels) == sorted(grids["grid_code"])
    # the hostile grid's popup shows its name as text; nothing ran
    code = grids.loc[grids["name"] == HOSTILE, "grid_code"].iloc[0]
    text = driver.execute_script(
        _find_map_js()
        + """
        var target = null;
        m.eachLayer(function (l) {
            if (l.feature && l.feature.properties._label === arguments[0]) { target = l; } });
        target.fire('click', {latlng: target.getBounds().getCenter()}, true);
        var box = document.querySelector('.leaflet-popup-content');
        return [box.innerText, box.querySelectorAll('script, img').length];
    """.replace("arguments[0]", repr(code))
    )
    assert HOSTILE in text[0] and HOSTILE_IMG in text[0] and text[1] == 0
    assert driver.execute_script("return window.__gridkitErrors") == []
    # Chinese renders with a real font: two characters draw differently (no tofu boxes)
    rendered = driver.execute_script("""
        var span = document.querySelector('.gridkit-label span');
        var font = '32px ' + getComputedStyle(span).fontFamily;
        function draw(ch) {
            var c = document.createElement('canvas'); c.width = 48; c.height = 48;
            var x = c.getContext('2d'); x.font = font; x.fillText(ch, 4, 38);
            return c.toDataURL(); }
        var blank = document.createElement('canvas'); blank.width = 48; blank.height = 48;
        var text = document.body.innerText;
        return [draw('前'), draw('进'), blank.toDataURL(),
                text.indexOf('示例人员') >= 0 || text.indexOf('网格示意图') >= 0];
    """)
    assert rendered[0] != rendered[1] and rendered[2] not in rendered[:2] and rendered[3]
    # the screenshot is not blank: grid colours cover a good part of the page
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    assert len(colours) > 50
    assert counts.max() / len(pixels) < 0.6


# --- file names and atomic writes ---------------------------------------------


def test_per_grid_maps_never_overwrite_each_other(grids, tmp_path):
    labelled = grids.assign(label=["A", "A", "a", "x/y", "x_y"])
    with pytest.warns(gk.GridkitWarning, match="share a file name") as records:
        paths = write_grid_maps(labelled, tmp_path, label_column="label", tiles=None)
    assert [p.name for p in paths] == ["A.html", "A-2.html", "a-3.html", "x_y.html", "x_y-2.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    message = str(records[0].message)
    assert "'A' -> 'A-2'" in message and "'x_y' -> 'x_y-2'" in message
    for path, code in zip(paths, labelled["grid_code"], strict=True):  # each its own grid
        html = path.read_text(encoding="utf-8")
        assert html.count(code) >= 1


def test_twenty_grids_with_one_label_give_twenty_maps(tmp_path):
    g = gpd.GeoDataFrame(
        {"grid_id": [f"g{i}" for i in range(20)], "name": "同一个 名字"},
        geometry=[box(500000 + 100 * i, 4400000, 500100 + 100 * i, 4400100) for i in range(20)],
        crs=32650,
    )
    with pytest.warns(gk.GridkitWarning, match="19 grid"):
        paths = write_grid_maps(g, tmp_path, label_column="name", tiles=None)
    assert len(set(paths)) == 20 and len(list(tmp_path.iterdir())) == 20


def test_save_map_joins_the_callers_output_set(grids, tmp_path):
    from gridkit.io.atomic import staged

    target = tmp_path / "map.html"
    target.write_text("old", encoding="utf-8")
    with staged():
        save_map(grid_map(grids, tiles=None), target)
        assert target.read_text(encoding="utf-8") == "old"  # nothing moves before the end
    assert "L.map(" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]


def test_failed_grid_maps_leave_the_old_ones(grids, tmp_path, monkeypatch):
    import gridkit.publish.webmap as webmap

    old = {p.name: p.read_bytes() for p in write_grid_maps(grids, tmp_path, tiles=None)}
    calls = []
    real = webmap.inline_assets

    def fail_third(html):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(html)

    monkeypatch.setattr(webmap, "inline_assets", fail_third)
    with pytest.raises(OSError, match="No space left"):
        write_grid_maps(grids, tmp_path, tiles=None, title="新的 new")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


# --- coordinates that cannot be shown -------------------------------------------


def _far_away(grids):
    metric = grids.to_crs(32635)
    return metric.set_geometry(metric.geometry.translate(1e12, 1e12))  # 1e12 m: off the Earth


def test_unprojectable_coordinates_are_refused(grids, tmp_path):
    with pytest.raises(gk.CRSError, match="longitude/latitude") as caught:
        grid_map(_far_away(grids), tiles=None)
    assert isinstance(caught.value, ValueError) and "set the right CRS" in str(caught.value)
    with pytest.raises(gk.CRSError, match="longitude/latitude"):
        write_grid_maps(_far_away(grids), tmp_path / "maps", tiles=None)
    assert not (tmp_path / "maps").exists() or not any((tmp_path / "maps").iterdir())
