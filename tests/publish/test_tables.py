"""Per-grid figures and the responsibility table (CSV, XLSX) on the sample and edge cases."""

from __future__ import annotations

import contextlib
import errno
import resource
import signal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import gridkit as gk
from gridkit.publish.tables import grid_stats, responsibility_table, staff_by_grid, write_table


@pytest.fixture
def grids(sample):
    g = sample["villages"].rename(columns={"code": "village_code"})
    g["grid_id"] = [f"G{i}" for i in range(len(g))]
    return gk.assign_codes(g).iloc[::-1]  # not in code order


@pytest.fixture
def staff():
    return pd.DataFrame(
        {
            "name": ["示例人员 01", "示例人员 02", "示例人员 03"],
            "phone": ["000-0000-0001", "000-0000-0002", "000-0000-0003"],
            "grid_id": ["G0", "G0", "G2"],
        }
    )


def test_sample_table(grids, sample, staff):
    before = grids.copy()
    with pytest.warns(gk.GridkitWarning, match="nobody responsible"):
        t = responsibility_table(
            grids,
            staff=staff,
            entities=sample["entities"],
            buildings=sample["buildings"],
            villages=sample["villages"],
        )
    assert len(t) == len(grids) and t["grid_code"].is_monotonic_increasing
    assert t["entities"].sum() == len(sample["entities"])
    assert (
        t[["entities_risk1", "entities_risk2", "entities_risk3"]].sum(axis=1) == t["entities"]
    ).all()
    assert t["households"].sum() == sample["buildings"]["households"].sum()
    jur = sample["jurisdiction"].to_crs(32635).area.sum()
    assert t["area_m2"].sum() == pytest.approx(jur, rel=1e-6)
    g0 = t.set_index("grid_id").loc["G0"]
    assert (
        g0["persons"] == "示例人员 01; 示例人员 02"
        and g0["phones"] == "000-0000-0001; 000-0000-0002"
    )
    assert t.set_index("grid_id").loc["G1", "persons"] == ""
    assert t["village_name"].str.startswith("Postcode").all()
    pd.testing.assert_frame_equal(pd.DataFrame(grids), pd.DataFrame(before))


def test_written_tables_read_back(grids, sample, staff, tmp_path):
    with pytest.warns(gk.GridkitWarning, match="nobody responsible"):
        t = responsibility_table(grids, staff=staff, entities=sample["entities"])
    csv = write_table(t, tmp_path / "t.csv")
    xlsx = write_table(t, tmp_path / "t.xlsx", headers="zh")
    back_csv = pd.read_csv(csv, dtype=str, encoding="utf-8-sig")
    assert back_csv.columns[0] == "网格编码 grid_code"
    assert back_csv.iloc[:, 0].tolist() == t["grid_code"].tolist()  # leading zeros kept
    back = pd.read_excel(xlsx, dtype=str, sheet_name="网格责任表")
    assert list(back.columns[:2]) == ["网格编码", "网格标识"]
    assert back["网格编码"].tolist() == t["grid_code"].tolist()
    assert back["主体户数"].astype(int).tolist() == t["entities"].tolist()
    en = pd.read_csv(write_table(t, tmp_path / "en.csv", headers="en"), dtype=str)
    assert list(en.columns) == list(t.columns)


def test_table_errors(grids, tmp_path):
    t = responsibility_table(grids)
    with pytest.raises(ValueError, match=".csv or .xlsx"):
        write_table(t, tmp_path / "t.txt")
    with pytest.raises(ValueError, match="headers"):
        write_table(t, tmp_path / "t.csv", headers="fr")


def _two_grids():
    return gpd.GeoDataFrame(
        {"grid_id": ["a", "b"], "village_code": "110101001001"},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=32650,
    )


def test_figures_from_assignment_and_existing_columns_kept():
    g = _two_grids().assign(households=[7, 9])
    units = pd.DataFrame(
        {
            "grid_id": ["a", "a", "b"],
            "households": [1, 1, 1],
            "entities": [2, 3, 4],
            "workload_min": [10.0, 5.5, 1.0],
        }
    )
    s = grid_stats(g, assignment=units)
    assert s["households"].tolist() == [7, 9]  # the grids' own column wins
    assert s["entities"].tolist() == [5, 4] and s["workload_min"].tolist() == [15.5, 1.0]
    assert s["area_m2"].tolist() == pytest.approx([10000, 10000])
    with pytest.raises(gk.MissingColumnError, match="grid_id"):
        grid_stats(g.drop(columns="grid_id"), assignment=units)


def test_point_on_shared_edge_counted_once_and_regimes():
    ent = gpd.GeoDataFrame(
        {"risk": [1, 2, 3], "regime": ["key", "general", "exempt"]},
        geometry=[Point(100, 50), Point(50, 50), Point(150, 50)],
        crs=32650,
    )
    s = grid_stats(_two_grids(), entities=ent)
    assert s["entities"].sum() == 3  # the point on the shared edge counts once, in one grid
    ent = ent.assign(geometry=[Point(99.9, 50), Point(50, 50), Point(150, 50)])
    s = grid_stats(_two_grids(), entities=ent)
    assert s["entities"].tolist() == [2, 1]
    assert s["entities_key"].tolist() == [1, 0] and s["entities_exempt"].tolist() == [0, 1]


def test_staff_for_unknown_grid_warns():
    staff = pd.DataFrame({"name": ["x", "y"], "phone": ["1", "2"], "grid_id": ["a", "zzz"]})
    with pytest.warns(gk.GridkitWarning, match="match no grid"):
        out = staff_by_grid(staff, ["a"])
    assert out.loc["a", "persons"] == "x"


def test_without_codes_sorted_by_grid_id():
    g = _two_grids().iloc[::-1]
    t = responsibility_table(g)
    assert t["grid_id"].tolist() == ["a", "b"] and "grid_code" not in t
    assert np.issubdtype(t["area_m2"].dtype, np.integer)


def test_grids_without_ids_are_numbered_from_one():
    g = _two_grids().drop(columns="grid_id")
    staff = pd.DataFrame({"name": ["甲"], "phone": ["000-0000-0001"], "grid_id": ["2"]})
    with pytest.warns(gk.GridkitWarning, match="nobody responsible"):
        t = responsibility_table(g, staff=staff)
    assert t["grid_id"].tolist() == ["1", "2"] and t["persons"].tolist() == ["", "甲"]


# --- hostile cells: spreadsheet formulas stay text (OWASP CSV injection) ------

FORMULAS = ['=HYPERLINK("http://x","y")', "+86 138 0000 0000", "-2+3", "@SUM(A1)", "\tTAB"]


def _hostile_table(grids):
    t = responsibility_table(grids)
    n = len(t)
    t["persons"] = [FORMULAS[i % len(FORMULAS)] for i in range(n)]
    t["phones"] = ["=1+1", "+86 138 0000 0001", "-1", "@A1", "\rCR"][:n]
    t["village_name"] = "=cmd|' /C calc'!A0"
    return t


def test_xlsx_cells_are_never_formulas(grids, tmp_path):
    from openpyxl import load_workbook

    t = _hostile_table(grids)
    path = write_table(t, tmp_path / "t.xlsx", headers="en")
    sheet = load_workbook(path)["网格责任表"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    header = [c.value for c in sheet[1]]
    column = {
        name: [sheet.cell(row=r, column=header.index(name) + 1).value for r in range(2, len(t) + 2)]
        for name in ("persons", "phones")
    }
    assert column["persons"] == t["persons"].tolist()  # the text itself, unchanged
    # XML keeps no bare carriage return: it reads back as a line feed, still text
    assert column["phones"] == [v.replace("\r", "\n") for v in t["phones"]]
    assert (
        sheet.cell(row=2, column=header.index("village_name") + 1).value
        == t["village_name"].iloc[0]
    )
    # Excel shows the text and keeps it text when the cell is edited
    assert all(
        sheet.cell(row=r, column=header.index("persons") + 1).quotePrefix
        for r in range(2, len(t) + 2)
    )


def test_csv_cells_that_would_be_formulas_start_with_a_quote(grids, tmp_path):
    t = _hostile_table(grids)
    path = write_table(t, tmp_path / "t.csv", headers="en")
    back = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert back["persons"].tolist() == ["'" + v for v in t["persons"]]
    assert back["phones"].tolist() == ["'" + v for v in t["phones"]]
    assert back["village_name"].iloc[0] == "'=cmd|' /C calc'!A0"
    assert back["grid_code"].tolist() == t["grid_code"].tolist()  # plain values untouched
    assert back["area_m2"].tolist() == t["area_m2"].astype(str).tolist()


def test_negative_numbers_stay_numbers(tmp_path):
    from openpyxl import load_workbook

    t = pd.DataFrame({"grid_id": ["a"], "workload_min": [-1.5]})
    back = pd.read_csv(write_table(t, tmp_path / "n.csv", headers="en"), dtype=str)
    assert back["workload_min"].tolist() == ["-1.5"]
    cell = load_workbook(write_table(t, tmp_path / "n.xlsx"))["网格责任表"]["B2"]
    assert cell.value == -1.5 and cell.data_type == "n"


# --- atomic: a failed write leaves the old file as it was ----------------------


@contextlib.contextmanager
def file_size_limit(nbytes: int):
    """Writes past ``nbytes`` fail with OSError (EFBIG), as on a full disk."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)


def test_failed_csv_write_keeps_the_old_table(grids, tmp_path):
    t = responsibility_table(grids)
    path = write_table(t, tmp_path / "t.csv")
    old = path.read_bytes()
    t["persons"] = "示例人员 " * 50  # the new table is larger than the limit
    with file_size_limit(len(old) // 2), pytest.raises(OSError) as caught:
        write_table(t, path)
    assert caught.value.errno == errno.EFBIG
    assert str(path) in str(caught.value) and ".tmp" not in str(caught.value)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary left


def test_failed_xlsx_write_keeps_the_old_table(grids, tmp_path, monkeypatch):
    t = responsibility_table(grids)
    path = write_table(t, tmp_path / "t.xlsx")
    old = path.read_bytes()

    def full_disk(self, data):
        with open(self, "wb") as f:
            f.write(data[:100])  # some bytes made it, then the disk was full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_table(t.iloc[:2], path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]
