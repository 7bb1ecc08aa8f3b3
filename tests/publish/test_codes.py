"""Grid codes: layout, west-east/north-south order, stability, previous codes, errors."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

import gridkit as gk
from gridkit.publish.codes import (
    CodeOverflowError,
    CodeScheme,
    DuplicateCodeError,
    VillageCodeError,
    assign_codes,
    parse_code,
)

V1 = "110101001001"
V2 = "110101001002"
CRS = 32650  # UTM 50N, metres


def blocks(
    rows: int,
    cols: int,
    *,
    village: str = V1,
    size: float = 100.0,
    x0: float = 500000,
    y0: float = 4400000,
) -> gpd.GeoDataFrame:
    """rows x cols square grids; ids rRcC (row 0 is the northern one)."""
    geoms, ids = [], []
    for r in range(rows):
        for c in range(cols):
            top = y0 - r * size
            geoms.append(box(x0 + c * size, top - size, x0 + (c + 1) * size, top))
            ids.append(f"r{r}c{c}")
    return gpd.GeoDataFrame({"grid_id": ids, "village_code": village}, geometry=geoms, crs=CRS)


def codes_by_id(coded: gpd.GeoDataFrame) -> dict[str, str]:
    return dict(zip(coded["grid_id"], coded["grid_code"], strict=True))


def test_west_to_east_then_north_to_south():
    coded = assign_codes(blocks(3, 4))
    seq = dict(zip(coded["grid_id"], coded["grid_seq"], strict=True))
    assert [seq[f"r0c{c}"] for c in range(4)] == [1, 2, 3, 4]
    assert [seq[f"r1c{c}"] for c in range(4)] == [5, 6, 7, 8]
    assert seq["r2c3"] == 12
    assert all(len(c) == 15 and c.startswith(V1) for c in coded["grid_code"])
    assert codes_by_id(coded)["r1c0"] == V1 + "005"


def test_row_height_groups_staggered_grids_into_one_row():
    g = blocks(1, 4)
    # shift every other grid 30 m north: still one row of 100 m
    g["geometry"] = [
        geom if i % 2 == 0 else gpd.GeoSeries([geom]).translate(0, 30).iloc[0]
        for i, geom in enumerate(g.geometry)
    ]
    coded = assign_codes(g, row_height=100)
    seq = dict(zip(coded["grid_id"], coded["grid_seq"], strict=True))
    assert [seq[f"r0c{c}"] for c in range(4)] == [1, 2, 3, 4]
    # with 10 m rows the raised grids come first (north to south)
    coded = assign_codes(g, row_height=10)
    seq = dict(zip(coded["grid_id"], coded["grid_seq"], strict=True))
    assert [seq["r0c1"], seq["r0c3"], seq["r0c0"], seq["r0c2"]] == [1, 2, 3, 4]


def test_numbering_restarts_in_each_village():
    g = pd.concat(
        [blocks(2, 2, village=V1), blocks(1, 3, village=V2, x0=600000)], ignore_index=True
    )
    g["grid_id"] = [f"g{i}" for i in range(len(g))]
    coded = assign_codes(g)
    assert coded.groupby("village_code")["grid_seq"].apply(sorted).to_dict() == {
        V1: [1, 2, 3, 4],
        V2: [1, 2, 3],
    }
    assert coded["grid_code"].is_unique


def test_cjt349_scheme():
    coded = assign_codes(blocks(2, 2), scheme="cjt349", object_class="010203")
    assert all(len(c) == 20 and c.startswith("010203" + V1) for c in coded["grid_code"])
    assert parse_code(coded["grid_code"].iloc[0], scheme="cjt349")["sequence"] == 1
    with pytest.raises(ValueError, match="object_class"):
        assign_codes(blocks(1, 1), scheme="cjt349")
    with pytest.raises(ValueError, match="unknown `scheme`"):
        assign_codes(blocks(1, 1), scheme="gb99")


def test_custom_scheme_with_four_digit_sequence():
    coded = assign_codes(blocks(1, 2), scheme=CodeScheme("local16", 12, 4, 0))
    assert coded["grid_code"].tolist() == [V1 + "0001", V1 + "0002"]


def test_parse_code_fields():
    assert parse_code("110101001002007") == {
        "object_class": "",
        "county": "110101",
        "town": "001",
        "village": "002",
        "sequence": 7,
    }
    with pytest.raises(VillageCodeError):
        parse_code("11010100100200")


def test_stable_across_reruns_row_order_and_crs():
    g = blocks(3, 3)
    first = codes_by_id(assign_codes(g))
    assert codes_by_id(assign_codes(g)) == first
    shuffled = g.sample(frac=1, random_state=3)
    assert codes_by_id(assign_codes(shuffled)) == first
    assert codes_by_id(assign_codes(g.to_crs(4326))) == first


def test_input_not_modified_and_crs_kept():
    g = blocks(2, 2).to_crs(4326)
    before = g.copy()
    coded = assign_codes(g)
    pd.testing.assert_frame_equal(pd.DataFrame(g), pd.DataFrame(before))
    assert coded.crs == g.crs and list(coded.index) == list(g.index)


def test_untouched_grids_keep_codes_after_a_change():
    old = assign_codes(blocks(2, 3))
    old_codes = codes_by_id(old)
    new = blocks(2, 3)
    # r0c1 is split in two halves (north and south); r1c2 is removed
    split = new[new.grid_id == "r0c1"].geometry.iloc[0]
    x0, y0, x1, y1 = split.bounds
    halves = gpd.GeoDataFrame(
        {"grid_id": ["r0c1n", "r0c1s"], "village_code": V1},
        geometry=[box(x0, (y0 + y1) / 2, x1, y1), box(x0, y0, x1, (y0 + y1) / 2)],
        crs=CRS,
    )
    new = pd.concat([new[~new.grid_id.isin(["r0c1", "r1c2"])], halves], ignore_index=True)
    coded = codes_by_id(assign_codes(new, previous=old))
    for gid in ("r0c0", "r0c2", "r1c0", "r1c1"):
        assert coded[gid] == old_codes[gid]
    # new grids get numbers above the highest old one (6): retired 2 and 6 are not reused
    assert coded["r0c1n"] == V1 + "007" and coded["r0c1s"] == V1 + "008"


def test_previous_small_moves_count_as_unchanged():
    old = assign_codes(blocks(1, 3))
    moved = blocks(1, 3)
    moved["geometry"] = moved.geometry.translate(0.05, 0)  # 5 cm: reprojection noise
    assert codes_by_id(assign_codes(moved, previous=old)) == codes_by_id(old)


def test_previous_duplicate_codes_refused():
    old = assign_codes(blocks(1, 2))
    old["grid_code"] = old["grid_code"].iloc[0]
    with pytest.raises(DuplicateCodeError, match="repeat"):
        assign_codes(blocks(1, 2), previous=old)


def test_overflow_is_an_error():
    with pytest.raises(CodeOverflowError, match="999"):
        assign_codes(blocks(20, 50, size=10))  # 1000 grids in one village
    assert assign_codes(blocks(9, 111, size=10))["grid_seq"].max() == 999
    with pytest.raises(CodeOverflowError, match="99"):
        assign_codes(blocks(10, 10, size=10), scheme="cjt349", object_class="000000")


def test_reusing_retired_numbers_warns_before_overflow():
    old = assign_codes(blocks(1, 3))
    old.loc[old.grid_id == "r0c2", "grid_code"] = V1 + "999"  # the village used 999
    new = pd.concat(
        [blocks(1, 2), blocks(1, 1, x0=600000).assign(grid_id="new")], ignore_index=True
    )
    with pytest.warns(gk.GridkitWarning, match="reusing retired"):
        coded = codes_by_id(assign_codes(new, previous=old))
    assert coded["new"] == V1 + "003"


def test_bad_village_codes_name_the_rows():
    g = blocks(1, 3)
    g["village_code"] = ["110101001001", "11A", None]
    with pytest.raises(VillageCodeError, match=r"rows \[1, 2\]"):
        assign_codes(g)
    with pytest.raises(gk.MissingColumnError, match="village_column"):
        assign_codes(blocks(1, 1).drop(columns="village_code"))


def test_codes_of_the_wrong_length_are_refused_not_padded():
    g = blocks(1, 3, village="000091001001")
    g["village_code"] = ["000091001001", "91001001", "1101010010011"]  # 12, 8 and 13 digits
    with pytest.raises(VillageCodeError) as caught:
        assign_codes(g)
    msg = str(caught.value)
    assert "rows [1, 2]" in msg and "'91001001'" in msg and "'1101010010011'" in msg
    assert "12-digit" in msg and "np." not in msg


def test_codes_read_as_numbers_are_refused_with_the_fix():
    # the sample's codes read from a spreadsheet as numbers: 000091001001 -> 91001001
    g = blocks(1, 2, village="000091001001")
    g["village_code"] = np.array([91001001, 91001001], dtype="int64")
    with pytest.raises(VillageCodeError, match="as text") as caught:
        assign_codes(g)
    assert "rows [0, 1]" in str(caught.value) and "np." not in str(caught.value)
    g["village_code"] = [91001001.0, 91001001.0]
    with pytest.raises(VillageCodeError, match="as text"):
        assign_codes(g)


def test_full_length_codes_read_as_numbers_are_kept():
    g = blocks(1, 2)
    g["village_code"] = [int(V1), float(V1)]  # no leading zero to lose
    assert assign_codes(g)["grid_code"].tolist() == [V1 + "001", V1 + "002"]


def test_messages_show_plain_values_not_numpy_reprs():
    g = blocks(1, 2)
    for kwargs in (
        {"row_height": np.float64(-1.0)},
        {"min_iou": np.float64(2.0)},
        {"scheme": "cjt349", "object_class": np.int64(12)},
    ):
        with pytest.raises(gk.InvalidValueError) as caught:
            assign_codes(g, **kwargs)
        assert "np." not in str(caught.value), str(caught.value)


def test_village_taken_from_villages_layer(sample):
    villages = sample["villages"]
    grids = villages[["geometry"]].copy()
    grids["geometry"] = (
        grids.geometry.to_crs(32635).buffer(-10).to_crs(4326)
    )  # inside their village
    coded = assign_codes(grids, villages=villages)
    assert coded["village_code"].tolist() == villages["code"].tolist()


def test_sample_villages_as_grids(sample):
    g = sample["villages"].rename(columns={"code": "village_code"})
    coded = assign_codes(g)
    assert (coded["grid_code"] == coded["village_code"] + "001").all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=40, unique=True
    ),
    st.randoms(use_true_random=False),
)
def test_codes_are_unique_consecutive_and_order_free(cells, rnd):
    geoms = [box(x * 50, y * 50, x * 50 + 50, y * 50 + 50) for x, y in cells]
    g = gpd.GeoDataFrame(
        {"grid_id": [f"{x}_{y}" for x, y in cells], "village_code": V1}, geometry=geoms, crs=CRS
    )
    coded = assign_codes(g)
    assert sorted(coded["grid_seq"]) == list(range(1, len(g) + 1))
    order = list(range(len(g)))
    rnd.shuffle(order)
    assert codes_by_id(assign_codes(g.iloc[order])) == codes_by_id(coded)
    # north to south: a grid in a higher row never gets a larger number than one below it
    cy = coded.geometry.centroid.y.to_numpy()
    seq = coded["grid_seq"].to_numpy()
    height = np.sqrt(np.median(coded.area))
    top = coded.total_bounds[3]
    rows = np.floor((top - cy) / height)
    for i in range(len(g)):
        assert not np.any((rows < rows[i]) & (seq > seq[i]))


def test_no_warning_on_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assign_codes(blocks(2, 2))


def test_partition_names_its_grids_with_the_codes(sample):
    """One identity: the partition's grid_id is the code assign_codes gives the grids."""
    units = gk.build_units(sample["roads"], sample["jurisdiction"],
                           villages=sample["villages"], max_workload=500).units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gk.GridkitWarning)
        grids = gk.partition(units, "workload_min", k=12).grids
    assert grids["grid_id"].str.fullmatch(r"\d{15}").all()
    assert (grids["grid_id"].str[:12] == grids["village_code"]).all()
    # each village numbered 001, 002, ... with no hole
    seq = grids["grid_id"].str[12:].astype(int)
    for _, s in seq.groupby(grids["village_code"]):
        assert sorted(s) == list(range(1, len(s) + 1))
    # numbering the grids afresh (ids dropped) gives the same codes
    fresh = assign_codes(grids.drop(columns="grid_id"))
    assert fresh["grid_code"].tolist() == grids["grid_id"].tolist()
    assert assign_codes(grids)["grid_code"].tolist() == grids["grid_id"].tolist()


def test_ids_that_are_codes_are_kept_and_new_grids_numbered_after_them():
    g = blocks(1, 3)
    g["grid_id"] = [V1 + "007", "r0c1", V1 + "002"]  # two carry codes, out of order
    coded = assign_codes(g)
    assert coded["grid_code"].tolist() == [V1 + "007", V1 + "008", V1 + "002"]
    # an id that is another village's code, or one used twice, is numbered afresh
    g["grid_id"] = [V2 + "001", V1 + "005", V1 + "005"]
    assert assign_codes(g)["grid_code"].tolist() == [V1 + "001", V1 + "002", V1 + "003"]


def test_published_codes_win_over_ids_that_are_codes():
    old = assign_codes(blocks(1, 2))  # r0c0 -> 001, r0c1 -> 002
    new = blocks(1, 2)
    new["grid_id"] = [V1 + "002", V1 + "009"]  # r0c0's id clashes with r0c1's published code
    coded = assign_codes(new, previous=old)
    assert coded["grid_code"].tolist() == [V1 + "001", V1 + "002"]
