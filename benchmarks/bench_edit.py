"""The grid editor: state after a move, and rebalance, on a synthetic county of ~10,000 units.

    python benchmarks/bench_edit.py [--roads 16000] [--grids 500] [--moves 200]

Builds a synthetic county (``gk.synthetic_county``, seed 0) and its basic
units (``gk.build_units``), partitions them, starts the editor
(``gk.edit``, its local server included) and measures:

- a move of one border unit to a neighbouring grid of its village, as the
  page does it (HTTP POST /api/move with the token, JSON state back), and
  the same through the Python object (``ed.move``); median and 95th
  percentile over ``--moves`` moves, each undone again;
- the peers a non-incremental editor would use for the same state: a full
  recount (pandas groupby of the weights + networkx connected components of
  every grid), and notebook 01's way before the editor (geopandas dissolve of
  the whole assignment, contiguity from the geometry type);
- rebalance of the unlocked grids (all unlocked, and half of them locked),
  against a fresh ``gk.partition`` of the same units;
- the page's payloads (units GeoJSON, state) and save;
- the page itself in headless Chromium (when installed): load until every
  unit is drawn (canvas renderer), a move made with the page's button until
  its table shows it, and a redraw after zooming out.

Writes benchmarks/results/edit.md (machine, date, load, command).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gridkit
import gridkit as gk  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "edit.md"


def sh(cmd: str) -> str:
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def post(ed, path: str, body: dict) -> tuple[int, dict]:
    host, port = ed.url.split("//")[1].split("/")[0].split(":")
    token = ed.url.split("token=")[1]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", path, body=json.dumps(body).encode(),
                 headers={"X-Gridkit-Token": token, "Content-Type": "application/json"})
    res = conn.getresponse()
    data = json.loads(res.read())
    conn.close()
    return res.status, data


def border_moves(assignment: pd.DataFrame, adj: pd.DataFrame, n: int, seed: int = 0):
    """Border units and a neighbouring grid of their village (some moves may be refused)."""
    grid = assignment.set_index("unit_id")["grid_id"]
    village = assignment.set_index("unit_id")["village_code"]
    ga, gb = adj["unit_a"].map(grid), adj["unit_b"].map(grid)
    ok = (ga != gb) & (adj["unit_a"].map(village) == adj["unit_b"].map(village))
    pairs = adj[ok].sample(frac=1.0, random_state=seed)
    return list(zip(pairs["unit_a"], pairs["unit_b"].map(grid), strict=True))[:n]


def full_recount(assignment: pd.DataFrame, graph: nx.Graph, weight: str) -> int:
    weights = assignment.groupby("grid_id")[weight].sum()
    broken = 0
    for _, ids in assignment.groupby("grid_id")["unit_id"]:
        broken += nx.number_connected_components(graph.subgraph(ids)) > 1
    return len(weights) + broken


def dissolve_recount(assignment, weight: str) -> int:
    grids = assignment.dissolve("grid_id", aggfunc={weight: "sum"})
    return int(grids.geom_type.eq("Polygon").sum())


def timed(func) -> float:
    t = time.perf_counter()
    func()
    return time.perf_counter() - t


def stats(times: list[float]) -> str:
    ms = sorted(1000 * t for t in times)
    p95 = ms[min(len(ms) - 1, max(0, -(-95 * len(ms) // 100) - 1))]
    return f"{statistics.median(ms):.1f} / {p95:.1f}"


MOVE_IN_PAGE = """
var done = arguments[arguments.length - 1], ed = window.gridkitEditor;
var status = document.getElementById('status');
function click(id, then) {  // press a button, wait until the page has said the outcome
  status.textContent = '';
  var t = performance.now();
  document.getElementById(id).click();
  (function wait() {
    if (status.textContent !== '') {
      requestAnimationFrame(function () { then(performance.now() - t, status.className); });
    } else { setTimeout(wait, 2); }
  }());
}
ed.selected.clear(); ed.selected.add(ed.index[arguments[0]]);
document.getElementById('target').value = arguments[1];
click('move', function (ms, cls) {
  if (cls === 'error') { done([ms, false]); return; }
  click('undo', function () { done([ms, true]); });
});
"""
ZOOM_IN_PAGE = """
var done = arguments[arguments.length - 1], map = window.gridkitEditor.map;
var t = performance.now();
map.once('zoomend', function () {
  requestAnimationFrame(function () { done(performance.now() - t); });
});
map.setZoom(map.getZoom() - 1, {animate: false});
"""


def page_rows(ed, moves) -> list[tuple]:
    """The page in headless Chromium: load, a move through the button, a redraw."""
    import shutil

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        return [("page in Chromium", "-", "-", "skipped: chromium/chromedriver not installed")]
    from selenium import webdriver

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900"):
        options.add_argument(flag)
    drv = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    drv.set_script_timeout(120)
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__gridkitErrors = []; window.addEventListener('error', function (e) {"
        " window.__gridkitErrors.push(String(e.message)); }, true);")})
    try:
        t = time.perf_counter()
        drv.get(ed.url)
        while not drv.execute_script("return window.gridkitEditor && window.gridkitEditor.ready"):
            time.sleep(0.02)
        load_s = time.perf_counter() - t
        drawn = drv.execute_script("return window.gridkitEditor.layers.filter(Boolean).length")
        times, refused = [], 0
        for unit, dst in moves[:30]:
            ms, ok = drv.execute_async_script(MOVE_IN_PAGE, str(unit), dst)
            times.append(ms / 1000)
            refused += not ok
        zoom = [drv.execute_async_script(ZOOM_IN_PAGE) / 1000 for _ in range(2)]
        errors = drv.execute_script("return window.__gridkitErrors || []")
    finally:
        drv.quit()
    return [("page: load until every unit is drawn", "Chromium, Leaflet canvas",
             f"{1000 * load_s:.0f}", f"{drawn:,} unit polygons"),
            ("page: Move button until the table shows it", "Chromium", stats(times),
             f"{len(times)} moves ({refused} refused, the reason shown), each undone"),
            ("page: redraw after zooming out", "Chromium", stats(zoom),
             f"{len(errors)} script errors")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--roads", type=int, default=16_000)
    p.add_argument("--grids", type=int, default=500)
    p.add_argument("--moves", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", gk.GridkitWarning)
    load_start = os.getloadavg()
    started = datetime.now(UTC)
    n = args.roads
    layers = gk.synthetic_county(args.seed, buildings=5 * n, roads=n, villages=n // 40,
                                 entities=10 * n)
    built = gk.build_units(layers["roads"], layers["jurisdiction"], villages=layers["villages"],
                           barriers=layers["barriers"], buildings=layers["buildings"],
                           entities=layers["entities"])
    units = built.units
    weight = "workload_min"
    adj = gk.unit_adjacency(units)
    t0 = time.perf_counter()
    plan = gk.partition(units, weight, k=args.grids, adjacency=adj)
    partition_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ed = gk.edit(plan, weight, adjacency=adj, show=False)
    start_s = time.perf_counter() - t0
    rows = []

    moves = border_moves(plan.assignment, adj, args.moves, args.seed)
    http_t, py_t, refused = [], [], 0
    for unit, dst in moves:
        t = time.perf_counter()
        status, _ = post(ed, "/api/move", {"units": [unit], "grid_id": dst})
        http_t.append(time.perf_counter() - t)
        if status != 200:
            refused += 1
            continue
        post(ed, "/api/undo", {})
        t = time.perf_counter()
        ed.move([unit], dst)
        py_t.append(time.perf_counter() - t)
        ed.undo()
    rows.append(("move 1 unit, page's way (HTTP POST /api/move + JSON state)", "gridkit edit",
                 stats(http_t), f"{len(http_t)} moves, {refused} refused by the rules"))
    rows.append(("move 1 unit, ed.move (state dict)", "gridkit edit", stats(py_t), ""))

    graph = nx.Graph()
    graph.add_edges_from(zip(adj["unit_a"], adj["unit_b"], strict=True))
    a = plan.assignment
    recount = [timed(lambda: full_recount(a, graph, weight)) for _ in range(3)]
    rows.append(("state from scratch: groupby weights + contiguity of every grid",
                 "pandas + networkx", stats(recount), "3 runs"))
    dissolve = [timed(lambda: dissolve_recount(a, weight)) for _ in range(2)]
    rows.append(("state from scratch: dissolve the assignment (notebook 01 before)",
                 "geopandas dissolve", stats(dissolve), "2 runs"))

    # the plan after the moves: put some back out of balance, then rebalance
    for unit, dst in moves[:50]:
        post(ed, "/api/move", {"units": [unit], "grid_id": dst})
    t = time.perf_counter()
    status, state = post(ed, "/api/rebalance", {})
    rebalance_s = time.perf_counter() - t
    rows.append((f"rebalance, all {len(state['grids'])} grids unlocked ({len(units):,} units)",
                 "gridkit edit (partition existing=)", f"{1000 * rebalance_s:.0f}",
                 f"HTTP {status}, {len(state.get('changes', []))} units moved"))
    ed.undo()
    names = [g["grid_id"] for g in ed.state()["grids"]]
    for gid in names[::2]:
        ed.lock(gid, True)
    t = time.perf_counter()
    status, state = post(ed, "/api/rebalance", {})
    half_s = time.perf_counter() - t
    rows.append(("rebalance, half the grids locked", "gridkit edit (partition existing=)",
                 f"{1000 * half_s:.0f}", f"HTTP {status}, {len(state.get('changes', []))} moved"))
    fresh = timed(lambda: gk.partition(units, weight, k=args.grids, adjacency=adj))
    rows.append(("fresh partition of the same units", "gk.partition", f"{1000 * fresh:.0f}",
                 "every unit may move"))

    t = time.perf_counter()
    geo = ed.session.units()
    units_s = time.perf_counter() - t
    size = len(json.dumps(geo)) / 1e6
    rows.append(("page: units GeoJSON (made once)", "gridkit edit", f"{1000 * units_s:.0f}",
                 f"{size:.1f} MB"))
    rows += page_rows(ed, moves)
    out = Path(sh("mktemp -d")) / "edited.gpkg"
    save_s = timed(lambda: ed.save(out))
    rows.append(("save grids + assignment (GeoPackage, atomic)", "gridkit edit",
                 f"{1000 * save_s:.0f}", ""))
    ed.stop()

    table = "| step | by | ms (median / p95) | note |\n|---|---|---|---|\n" + "\n".join(
        f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for r in rows)
    load_end = os.getloadavg()
    head = (f"# Grid editor benchmark\n\n- command: `python benchmarks/bench_edit.py "
            f"--roads {args.roads} --grids {args.grids} --moves {args.moves}`\n"
            f"- date: {started:%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}; "
            f"nproc {os.cpu_count()}\n"
            f"- load (1/5/15 min) at start {tuple(round(x, 2) for x in load_start)}, at end "
            f"{tuple(round(x, 2) for x in load_end)} (a shared machine: ratios within the run "
            "are fair, absolute times high)\n"
            f"- data: synthetic_county(seed {args.seed}, roads {n:,}) -> {len(units):,} units, "
            f"{adj.shape[0]:,} adjacent pairs, {len(plan.grids)} grids "
            f"(partition {partition_s:.1f} s, editor start {start_s:.2f} s)\n\n")
    text = head + table + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
