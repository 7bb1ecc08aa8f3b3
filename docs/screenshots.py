"""Remake the screenshots in docs/: the default web map and a tall and a wide poster.

Run from the repository root: ``python docs/screenshots.py`` (about a minute).
It makes the demo's grids of the bundled sample (20 balanced grids, standard
codes, clearly fake staff), writes the web map as ``gridkit demo`` does
(without tiles, so that nothing is fetched) and photographs it in headless
Chromium (Debian ``chromium`` and ``chromium-driver``, Python ``selenium``),
then draws the posters of the tallest and the widest grid.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import gridkit as gk

DOCS = Path(__file__).resolve().parent


def demo_grids(s):
    units = gk.build_units(
        s["roads"],
        s["jurisdiction"],
        villages=s["villages"],
        barriers=s["barriers"],
        buildings=s["buildings"],
        entities=s["entities"],
        max_workload=500,
    ).units
    adjacency = gk.unit_adjacency(units, roads=s["roads"])
    result = gk.partition(units, "workload_min", k=20, adjacency=adjacency, road_weight=0.5)
    grids = gk.assign_codes(result.grids)
    n = range(1, 3 * len(grids) + 1)
    staff = pd.DataFrame(
        {
            "name": [f"示例人员 {i:02d}" for i in n],
            "phone": [f"000-0000-{i:04d}" for i in n],
            "grid_id": [g for g in grids["grid_id"] for _ in range(3)],
        }
    )
    return grids, result.assignment, staff


OPEN_POPUP = """
var CODE = arguments[0];
var m = Object.keys(window)
    .map(function (k) { try { return window[k]; } catch (e) { return null; } })
    .find(function (v) { return v instanceof L.Map; });
var target = null;
m.eachLayer(function (l) {
    if (l.feature && l.feature.properties._label === CODE) { target = l; } });
target.fire('click', {latlng: target.getBounds().getCenter()}, true);
"""


def map_screenshot(path: Path, html: Path, code: str) -> None:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(html.as_uri())
        driver.execute_script("return 1")
        driver.execute_script(OPEN_POPUP, code)  # one grid's popup, as a click opens it
        time.sleep(1)  # past the popup's fade-in
        driver.save_screenshot(str(path))
    finally:
        driver.quit()


def main() -> int:
    s = gk.load_sample()
    grids, assignment, staff = demo_grids(s)
    m = gk.grid_map(
        grids,
        villages=s["villages"],
        roads=s["roads"],
        entities=s["entities"],
        staff=staff,
        assignment=assignment,
        tiles=None,
        title="gridkit 示例 demo (central Helsinki, OSM)",
    )
    with tempfile.TemporaryDirectory() as tmp:
        html = gk.save_map(m, Path(tmp) / "map.html")
        map_screenshot(DOCS / "map.png", html, sorted(grids["grid_code"])[len(grids) // 2])
    ps = gk.prepare_posters(
        grids,
        roads=s["roads"],
        buildings=s["buildings"],
        entities=s["entities"],
        jurisdiction=s["jurisdiction"],
        villages=s["villages"],
        staff=staff,
        assignment=assignment,
    )
    bounds = ps.grids.geometry.bounds
    aspect = ((bounds.maxx - bounds.minx) / (bounds.maxy - bounds.miny)).to_numpy()
    for name, i in (("tall", int(np.argmin(aspect))), ("wide", int(np.argmax(aspect)))):
        gk.grid_poster(ps, i).savefig(DOCS / f"poster-{name}.png", dpi=100)
        print(f"poster-{name}.png: grid {ps.labels[i]}, width/height {aspect[i]:.2f}")
    print(f"wrote {DOCS / 'map.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
