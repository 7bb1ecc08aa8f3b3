import warnings
import xml.etree.ElementTree as ET

import geopandas as gpd
import geopandas.testing
import numpy as np
import pandas as pd
import pytest

import cli
from gridkit.io.gpx import write_gpx
from gridkit.routing.roadgraph import road_graph
from gridkit.routing.schedule import monthly_schedule, visits_due, working_days


def test_working_days():
    days = working_days("2026-12")
    assert len(days) == 23 and all(d.weekday() < 5 for d in days)
    assert len(working_days("2026-12", holidays=["2026-12-25"])) == 22
    with pytest.raises(ValueError, match="month"):
        working_days("December")


def test_working_days_follow_chinas_public_holidays_and_make_up_days():
    """2026 per the State Council's notice: days off in lieu, weekends worked (调休)."""
    ts = pd.Timestamp
    october = working_days("2026-10")
    assert not any(ts(f"2026-10-0{d}") in october for d in range(1, 8))  # National Day week
    assert ts("2026-10-10") in october and ts("2026-10-10").weekday() == 5  # Saturday worked
    assert ts("2026-10-08") in october and ts("2026-10-11") not in october
    assert len(october) == 22 - 5 + 1
    january = working_days("2026-01")
    assert ts("2026-01-01") not in january and ts("2026-01-02") not in january
    assert ts("2026-01-04") in january and ts("2026-01-04").weekday() == 6  # Sunday worked
    february = working_days("2026-02")  # Spring Festival: 15-23 Feb off, 14 and 28 worked
    assert ts("2026-02-14") in february and ts("2026-02-28") in february
    assert not any(ts(f"2026-02-{d}") in february for d in range(16, 24))
    # weekdays only, on request
    plain = working_days("2026-10", calendar=None)
    assert len(plain) == 22 and all(d.weekday() < 5 for d in plain)
    with pytest.raises(ValueError, match="calendar"):
        working_days("2026-10", calendar="XX")


def test_a_year_without_announced_make_up_days_is_said():
    with pytest.warns(UserWarning, match="make-up working days.*2090"):
        days = working_days("2090-10")
    assert pd.Timestamp("2090-10-02") not in days  # National Day by the rules still known


def test_schedule_plans_no_visit_on_a_public_holiday(setup, sample_graph):
    ents, grids, staff = setup
    plan = monthly_schedule(ents, grids, staff, graph=sample_graph, month="2026-10")
    dates = set(plan.visits["date"]) | set(plan.days["date"])
    assert dates and dates <= {d.date().isoformat() for d in working_days("2026-10")}
    assert not {f"2026-10-0{d}" for d in range(1, 8)} & dates


def test_visits_due_average_exactly():
    keys = [f"E{i}" for i in range(50)]
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    for f in (1 / 3, 1.0, 2.0, 0.5):
        total = sum(visits_due(np.full(50, f), keys, m) for m in months)
        assert (total == round(12 * f)).all()


@pytest.fixture(scope="module")
def sample_graph(_sample_layers):
    return road_graph(_sample_layers["roads"])


@pytest.fixture
def setup(sample):
    ents = sample["entities"].iloc[::5].copy()
    risk = ents["risk"].to_numpy()
    ents["regime"] = np.where(risk == 1, "key", "general")
    ents["visits_per_month"] = np.where(risk == 1, 2.0, 1.0)
    ents["minutes_per_visit"] = np.where(risk == 1, 15.0, 10.0)
    grids = sample["villages"].rename(columns={"code": "grid_id"})
    staff = pd.DataFrame(
        [{"name": f"{g}-{k}", "phone": "0", "grid_id": g} for g in grids["grid_id"] for k in (1, 2)]
    )
    return ents, grids, staff


def test_schedule_respects_frequencies_and_budget(setup, sample_graph):
    ents, grids, staff = setup
    before = ents.copy()
    plan = monthly_schedule(
        ents,
        grids,
        staff,
        graph=sample_graph,
        month="2026-12",
        patrol_min={g: 30 for g in grids["grid_id"]},
    )
    geopandas.testing.assert_geodataframe_equal(ents, before)
    assert len(plan.unfit) == 0
    counts = plan.visits.groupby("entity_index").size()
    assert counts.reindex(ents.index).tolist() == ents["visits_per_month"].astype(int).tolist()
    # two visits of one entity fall on different days, in different halves of the month
    twice = plan.visits[plan.visits["entity_index"].isin(ents.index[ents["visits_per_month"] == 2])]
    assert (twice.groupby("entity_index")["date"].nunique() == 2).all()
    assert (plan.days["total_min"] <= 360 + 1e-6).all()
    assert plan.days["patrol_min"].sum() == pytest.approx(30 * 23 * len(grids))
    # the visits are spread over the month, not piled onto its first days
    per_date = plan.visits.groupby("date")["minutes"].sum()
    assert per_date.index.nunique() >= 15
    assert per_date.max() <= 4 * per_date.mean()
    # staff only work in their own grid
    merged = plan.visits.merge(staff, left_on="person", right_on="name")
    assert (merged["grid_id_x"] == merged["grid_id_y"]).all()
    day = plan.days.iloc[0]
    sub = plan.visits[
        (plan.visits["date"] == day["date"]) & (plan.visits["person"] == day["person"])
    ]
    assert sub["order"].tolist() == sorted(sub["order"]) and len(sub) == day["visits"]


def test_tight_budget_reports_and_keeps_key_first(setup, sample_graph):
    ents, grids, staff = setup
    plan = monthly_schedule(ents, grids, staff.iloc[:2], graph=sample_graph, daily_budget_min=40)
    assert (plan.days["total_min"] <= 40 + 1e-6).all()
    assert len(plan.unfit)
    reasons = set(plan.unfit["reason"])
    assert "no staff for this grid" in reasons
    own = plan.unfit[plan.unfit["grid_id"] == staff["grid_id"].iloc[0]]
    missing = ents.loc[own["entity_index"]]
    placed = ents.loc[plan.visits["entity_index"].unique()]
    # when something in the grid could not fit, no general entity took a key entity's place
    if (missing["regime"] == "key").any():
        assert not (placed["regime"] == "general").any()
    assert "could not fit" in plan.summary


def test_missing_policy_columns(setup, sample_graph):
    ents, grids, staff = setup
    with pytest.raises((KeyError, ValueError)):
        monthly_schedule(
            ents.drop(columns=["visits_per_month", "regime"])
            .drop(columns="minutes_per_visit")
            .assign(risk=9),
            grids,
            staff,
            graph=sample_graph,
        )


def test_gpx_is_valid_xml(tmp_path, setup):
    ents, _, _ = setup
    p = write_gpx(tmp_path / "x.gpx", waypoints=ents.assign(name=ents["entity_id"]))
    root = ET.parse(p).getroot()
    wpts = root.findall("{http://www.topografix.com/GPX/1/1}wpt")
    assert len(wpts) == len(ents)
    assert float(wpts[0].get("lat")) == pytest.approx(ents.geometry.iloc[0].y)


def test_cli_route_and_schedule(tmp_path, sample, setup, capsys):
    ents, grids, staff = setup
    g = grids.iloc[[0]]
    g.to_file(tmp_path / "g.gpkg", layer="grids")
    # the streets and entities around the grid (a small network keeps the test quick)
    x0, y0, x1, y1 = g.total_bounds
    d = 0.003
    sample["roads"].cx[x0 - d : x1 + d, y0 - d : y1 + d].to_file(
        tmp_path / "r0.gpkg", layer="roads"
    )
    ents.cx[x0 - d : x1 + d, y0 - d : y1 + d].to_file(tmp_path / "e.gpkg", layer="entities")
    staff.to_csv(tmp_path / "staff.csv", index=False)
    roads = str(tmp_path / "r0.gpkg")
    assert (
        cli.main(
            [
                "route",
                "--roads",
                roads,
                "--grids",
                str(tmp_path / "g.gpkg"),
                "-o",
                str(tmp_path / "r.gpkg"),
            ]
        )
        == 0
    )
    assert (tmp_path / "r.gpx").exists()
    assert gpd.read_file(tmp_path / "r.gpkg", layer="routes")["length_m"].iloc[0] > 0
    assert (
        cli.main(
            [
                "route",
                "--mode",
                "sites",
                "--roads",
                roads,
                "--grids",
                str(tmp_path / "g.gpkg"),
                "--entities",
                str(tmp_path / "e.gpkg"),
                "-o",
                str(tmp_path / "s.gpkg"),
            ]
        )
        == 0
    )
    stops = gpd.read_file(tmp_path / "s.gpkg", layer="stops")
    assert stops["order"].min() == 1
    rc = cli.main(
        [
            "schedule",
            "--roads",
            roads,
            "--grids",
            str(tmp_path / "g.gpkg"),
            "--entities",
            str(tmp_path / "e.gpkg"),
            "--staff",
            str(tmp_path / "staff.csv"),
            "--no-patrol",
            "-o",
            str(tmp_path / "plan.gpkg"),
        ]
    )
    assert rc == 1  # entities outside the one grid cannot be scheduled: reported, exit 1
    table = pd.read_csv(tmp_path / "plan.csv", dtype=str)
    assert {"date", "person", "order", "arrival", "minutes"} <= set(table.columns)
    assert (tmp_path / "plan.gpx").exists()
    # times in whole minutes (HH:MM and integers), the same as the layer's rounded
    assert table["arrival"].str.fullmatch(r"\d\d:\d\d").all()
    for column in ("travel_min", "minutes"):
        assert table[column].str.fullmatch(r"\d+").all(), table[column].head()
    visits = gpd.read_file(tmp_path / "plan.gpkg", layer="visits")
    assert (table["travel_min"].astype(int) == visits["travel_min"].round()).all()
    # the working days of the month asked for are China's: no visit on a public holiday
    from gridkit.routing.schedule import next_month

    with warnings.catch_warnings():  # a year whose make-up days are not announced yet
        warnings.simplefilter("ignore")
        due = {d.date().isoformat() for d in working_days(next_month())}
    assert set(table["date"]) <= due


def test_schedule_leaves_the_graph_alone(setup, sample):
    ents, grids, staff = setup
    G = road_graph(sample["roads"])
    graph_before = dict(G.graph)
    nodes_before = [(n, dict(d)) for n, d in G.nodes(data=True)]
    edges_before = [(u, v, k, dict(d)) for u, v, k, d in G.edges(keys=True, data=True)]
    monthly_schedule(ents.iloc[::4], grids, staff, graph=G, month="2026-12")
    assert G.graph == graph_before
    assert [(n, dict(d)) for n, d in G.nodes(data=True)] == nodes_before
    after = [(u, v, k, dict(d)) for u, v, k, d in G.edges(keys=True, data=True)]
    assert len(after) == len(edges_before)
    for (u, v, k, d), (u0, v0, k0, d0) in zip(after, edges_before, strict=True):
        assert (u, v, k) == (u0, v0, k0) and d.keys() == d0.keys()
        assert all(d[a] is d0[a] for a in d)


def test_schedule_seed_is_deprecated_and_changes_nothing(setup, sample_graph):
    ents, grids, staff = setup
    ents = ents.iloc[::3]
    plain = monthly_schedule(ents, grids, staff, graph=sample_graph, month="2026-12")
    with pytest.warns(DeprecationWarning, match="`seed` has no effect"):
        seeded = monthly_schedule(ents, grids, staff, graph=sample_graph, month="2026-12", seed=7)
    geopandas.testing.assert_geodataframe_equal(plain.visits, seeded.visits)
    geopandas.testing.assert_geodataframe_equal(plain.days, seeded.days)
    pd.testing.assert_frame_equal(plain.unfit, seeded.unfit)
