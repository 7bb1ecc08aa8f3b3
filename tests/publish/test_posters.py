"""Posters: files written and readable back, paper sizes, Chinese fonts, map furniture, CLI."""

from __future__ import annotations

import errno
import warnings
from dataclasses import replace
from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from browser import FONT_PACKAGES, ensure_debian_packages
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
import gridkit as gk
from gridkit.publish import _poster_font
from gridkit.publish._poster_draw import nice_length, scale_bar
from gridkit.publish._poster_layout import ASPECT_RANGE, poster_layout
from gridkit.publish.options import PAPER_SIZES
from gridkit.publish.posters import grid_poster, jurisdiction_poster, prepare_posters, write_posters

pypdf = pytest.importorskip("pypdf")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def grids(sample):
    g = sample["villages"].rename(columns={"code": "village_code"})
    g["grid_id"] = [f"G{i}" for i in range(len(g))]
    g["name"] = ["前进村", "和平社区", "示例", "Kallio", "Kamppi"]
    return gk.assign_codes(g)


@pytest.fixture
def staff():
    return pd.DataFrame(
        {
            "name": ["示例人员 01", "示例人员 02", "张三", "李四", "王五", "赵六"],
            "phone": [f"000-0000-000{i}" for i in range(1, 7)],
            "grid_id": ["G0", "G0", "G1", "G2", "G3", "G4"],
        }
    )


@pytest.fixture
def cjk_font():
    ensure_debian_packages(FONT_PACKAGES, why="posters must render Chinese")
    _poster_font.cjk_family.cache_clear()
    family = _poster_font.cjk_family()
    assert family is not None
    return family


def _missing_glyphs(records) -> list[str]:
    return [str(w.message) for w in records if "missing from" in str(w.message)]


def test_posters_written_and_readable(grids, sample, staff, tmp_path, cjk_font):
    code = grids["grid_code"].iloc[0]
    ps = prepare_posters(
        grids,
        roads=sample["roads"],
        buildings=sample["buildings"],
        entities=sample["entities"],
        jurisdiction=sample["jurisdiction"],
        staff=staff,
        attribution="© OpenStreetMap contributors",
    )
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        paths = write_posters(
            ps, tmp_path, formats=("png", "pdf"), dpi=60, only=[code], landscape=False
        )
    assert _missing_glyphs(records) == []  # every Chinese character had a glyph
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            f"{code}.png",
            f"{code}.pdf",
            "jurisdiction.png",
            "jurisdiction.pdf",
        ]
    )
    with Image.open(tmp_path / f"{code}.png") as im:
        assert im.size == (round(8.27 * 60), round(11.69 * 60))  # A4 portrait
        assert len(im.convert("RGB").getcolors(1 << 20)) > 50  # a drawn map, not a blank page
    reader = pypdf.PdfReader(tmp_path / f"{code}.pdf")
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((595.44, 841.68), abs=1)
    text = reader.pages[0].extract_text()
    for expected in (code, "前进村", "示例人员 01", "000-0000-0002", "N 北", "m²", "一类风险"):
        assert expected in text
    overview = pypdf.PdfReader(tmp_path / "jurisdiction.pdf").pages[0].extract_text()
    assert "网格划分总图" in overview and code in overview


def test_a3_landscape_and_bad_paper(grids, cjk_font):
    ps = prepare_posters(grids)
    fig = grid_poster(ps, grids["grid_code"].iloc[2], paper="A3", landscape=True)
    assert tuple(fig.get_size_inches()) == pytest.approx((16.54, 11.69))
    # a bare Figure: pyplot (and the caller's backend, e.g. a notebook's) is left alone
    assert not plt.get_fignums()
    with pytest.raises(ValueError, match="paper"):
        jurisdiction_poster(ps, paper="Letter")
    with pytest.raises(ValueError, match="no grid"):
        grid_poster(ps, "nope")
    with pytest.raises(ValueError, match="format"):
        write_posters(ps, "unused", formats=("gif",))


def test_without_cjk_font_says_so(grids, monkeypatch):
    monkeypatch.setattr(_poster_font, "cjk_family", lambda: None)
    with pytest.warns(gk.GridkitWarning, match="fonts-noto-cjk or fonts-wqy-zenhei"):
        ps = prepare_posters(grids.iloc[:1])
    assert ps.fonts == ["DejaVu Sans"]


@pytest.mark.parametrize(
    "span,expected", [(1000, 200), (4800, 500), (73, 10), (26000, 5000), (0.9, 0.1)]
)
def test_nice_scale_lengths(span, expected):
    assert nice_length(span) == pytest.approx(expected)


def test_scale_bar_stands_for_its_length():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 3)
    ax.set_ylim(0, 1)
    # 1 unit of the panel = 200 m of the map, at most 1.4 units long: 200 m (280 m max)
    assert scale_bar(ax, metres_per_unit=200, left=0.2, bottom=0.3, max_width=1.4) == 200
    widths = [p.get_width() for p in ax.patches]
    assert sum(widths) == pytest.approx(1.0)  # two halves, 200 m in all
    assert "200 m" in [t.get_text() for t in ax.texts]
    plt.close(fig)


def _texts(fig) -> str:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(texts)


def _axes(fig) -> dict:
    return {ax.get_label(): ax for ax in fig.axes}


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.fixture
def shaped(grids, sample, staff):
    """The sample's tallest (00530) and widest (00170) villages as grids, with everything."""
    ps = prepare_posters(
        grids.drop(columns="name"),
        roads=sample["roads"],
        buildings=sample["buildings"],
        entities=sample["entities"],
        villages=sample["villages"],
        staff=staff,
    )
    metric = ps.grids.geometry.bounds
    aspect = ((metric.maxx - metric.minx) / (metric.maxy - metric.miny)).to_numpy()
    return ps, int(np.argmin(aspect)), int(np.argmax(aspect)), aspect


@pytest.mark.parametrize("which", ["tall", "wide"])
def test_poster_legend_panel_is_its_own_frame_and_the_map_fits_the_grid(shaped, which, cjk_font):
    ps, tall, wide, aspect = shaped
    i = tall if which == "tall" else wide
    assert aspect[tall] < 0.6 and aspect[wide] > 1.6  # the sample has both shapes
    fig = grid_poster(ps, i)
    fig.canvas.draw()  # the renderer places the legend
    axes = _axes(fig)
    m, panel = axes["map"], axes["panel"]
    boxes = {k: a.get_window_extent() for k, a in axes.items()}
    assert not _overlap(boxes["map"], boxes["panel"])
    assert not _overlap(boxes["map"], boxes["info"]) and not _overlap(boxes["panel"], boxes["info"])
    # legend, north arrow and scale bar live in the panel, the legend inside its frame
    assert m.get_legend() is None and panel.get_legend() is not None
    legend_box = panel.get_legend().get_window_extent()
    assert boxes["panel"].x0 <= legend_box.x0 and legend_box.x1 <= boxes["panel"].x1 + 1
    assert boxes["panel"].y0 <= legend_box.y0 and legend_box.y1 <= boxes["panel"].y1 + 1
    assert "N 北" in [t.get_text() for t in panel.texts]
    assert any(t.get_text().endswith(" m") for t in panel.texts)
    # every piece of data is clipped to the map frame: none can reach the panel
    drawn = [*m.collections, *m.texts]
    assert len(m.collections) >= 4  # buildings, roads, grid fill and outline, entities
    for artist in drawn:
        assert artist.get_clip_on()
        assert artist.get_clip_path() is not None or artist.get_clip_box() is not None
        clip = artist.get_clip_box() or artist.get_clip_path().get_extents()
        assert clip.x0 >= boxes["map"].x0 - 1 and clip.x1 <= boxes["map"].x1 + 1
    # the frame takes the grid's shape: the view is the grid and its padding, no empty band
    x0, y0, x1, y1 = ps.grids.geometry.iloc[i].bounds
    (vx0, vx1), (vy0, vy1) = m.get_xlim(), m.get_ylim()
    assert (vx1 - vx0) / (x1 - x0) < 1.3 and (vy1 - vy0) / (y1 - y0) < 1.3
    frame = boxes["map"].width / boxes["map"].height
    assert frame == pytest.approx((vx1 - vx0) / (vy1 - vy0), rel=0.02)
    w, h = fig.get_size_inches()
    assert (w > h) == (which == "wide")  # a wide grid is printed landscape
    # the frame reaches the page's limits one way: tall grids its height (between the
    # title and the information box), wide ones its width (with the panel and the box)
    spans = max(b.x1 for b in boxes.values()) - min(b.x0 for b in boxes.values())
    if which == "tall":
        assert boxes["map"].height / fig.bbox.height > 0.6
    else:
        assert spans / fig.bbox.width > 0.9


def test_poster_names_the_grid_and_its_village(shaped, sample, cjk_font):
    ps, tall, _, _ = shaped
    row = ps.grids.iloc[tall]
    village = sample["villages"].set_index("code").loc[row["village_code"], "name"]
    text = _texts(grid_poster(ps, tall))
    title = f"网格公示  {village} 第{int(row['grid_seq'])}网格"
    assert title in text
    assert row["grid_code"] in text
    assert f"{village} ({row['village_code']})" in text  # by name and code
    # without a villages layer the code alone is what is known
    bare = prepare_posters(ps.grids.drop(columns=["village_name"], errors="ignore"))
    text = _texts(grid_poster(bare, tall))
    assert village not in text and row["village_code"] in text


def test_osm_credit_whichever_way_the_poster_is_made(grids, sample, cjk_font):
    credit = "Map data © OpenStreetMap contributors (ODbL)"
    # the API, no attribution asked for: the sample's OSM roads bring the credit
    api = prepare_posters(grids, roads=sample["roads"])
    assert credit in _texts(grid_poster(api, 0)) and credit in _texts(jurisdiction_poster(api))
    # a credit of the caller's own is kept, the OSM one added once
    own = prepare_posters(grids, buildings=sample["buildings"], attribution="测绘院 Survey")
    assert own.attribution == f"测绘院 Survey · {credit}"
    demo = prepare_posters(grids, roads=sample["roads"], attribution=credit + "; fake staff")
    assert demo.attribution.count("OpenStreetMap") == 1
    # data that is not OSM's carries no OSM credit
    assert prepare_posters(grids).attribution is None


def test_poster_does_not_modify_inputs(grids, sample, staff):
    before, roads = grids.copy(), sample["roads"].copy()
    prepare_posters(grids, roads=sample["roads"], staff=staff)
    pd.testing.assert_frame_equal(pd.DataFrame(grids), pd.DataFrame(before))
    pd.testing.assert_frame_equal(pd.DataFrame(sample["roads"]), pd.DataFrame(roads))


def test_cli_report(sample_file, tmp_path, capsys, cjk_font):
    src = f"{sample_file}:villages"
    grids = gk.read_layer(src).rename(columns={"code": "village_code"})
    grids["grid_id"] = grids["village_code"]
    gk.write_layer(grids, tmp_path / "grids.gpkg", layer="grids")
    staff = tmp_path / "staff.csv"
    pd.DataFrame(
        {"name": ["示例人员 01"], "phone": ["000-0000-0001"], "grid_id": [grids["grid_id"].iloc[0]]}
    ).to_csv(staff, index=False)
    out = tmp_path / "out"
    code = cli.main(
        [
            "report",
            "--grids",
            str(tmp_path / "grids.gpkg"),
            "--roads",
            f"{sample_file}:roads",
            "--entities",
            f"{sample_file}:entities",
            "--villages",
            src,
            "--staff",
            str(staff),
            "--formats",
            "pdf",
            "--no-per-grid",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert "assigned 5 grid codes" in capsys.readouterr().out
    table = pd.read_csv(out / "responsibility.csv", dtype=str, encoding="utf-8-sig")
    assert len(table) == 5 and table.iloc[0, 0] == grids["grid_id"].iloc[0] + "001"
    assert table["责任人 persons"].fillna("").tolist() == ["示例人员 01", "", "", "", ""]
    assert (out / "responsibility.xlsx").exists() and (
        out / "posters" / "jurisdiction.pdf"
    ).exists()


def test_cli_map(sample_file, tmp_path, capsys):
    out = tmp_path / "map.html"
    code = cli.main(
        [
            "map",
            "--grids",
            f"{sample_file}:villages",
            "--roads",
            f"{sample_file}:roads",
            "--tiles",
            "none",
            "--per-grid",
            str(tmp_path / "grids"),
            "-o",
            str(out),
        ]
    )
    assert code == 0 and out.exists() and len(list((tmp_path / "grids").glob("*.html"))) == 5
    assert "self-contained" in capsys.readouterr().out
    assert (
        cli.main(
            ["map", "--grids", f"{sample_file}:villages", "--tiles", "tianditu", "-o", str(out)]
        )
        == 2
    )
    assert "tianditu_key" in capsys.readouterr().err


# --- file names and atomic writes ---------------------------------------------


def test_poster_names_never_collide(sample, tmp_path):
    g = (
        sample["villages"]
        .assign(grid_id=["jurisdiction", "Jurisdiction", "a b", "a_b", "x"])
        .drop(columns="code")
    )
    ps = prepare_posters(g)
    with pytest.warns(gk.GridkitWarning, match="share a file name") as records:
        paths = write_posters(ps, tmp_path, formats=("png",), dpi=20)
    names = [p.name for p in paths]
    assert names == [
        "jurisdiction.png",
        "jurisdiction-2.png",
        "Jurisdiction-3.png",
        "a_b.png",
        "a_b-2.png",
        "x.png",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # 5 grids + overview
    assert "'jurisdiction' -> 'jurisdiction-2'" in str(records[0].message)


def _poster_bytes(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_failed_posters_leave_the_old_files(grids, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    ps = prepare_posters(grids)
    write_posters(ps, tmp_path, formats=("png", "pdf"), dpi=20)
    old = _poster_bytes(tmp_path)
    real = Figure.savefig
    pdfs = []

    def fail_second_pdf(self, fname, *args, **kwargs):
        if str(fname).endswith(".pdf"):
            pdfs.append(fname)
            if len(pdfs) == 2:  # the overview and the first grid poster were saved
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", fail_second_pdf)
    with pytest.raises(OSError, match="No space left") as caught:
        write_posters(replace(ps, title="新的标题 new"), tmp_path, formats=("png", "pdf"), dpi=20)
    assert len(pdfs) == 2 and caught.value.errno == errno.ENOSPC
    assert f"cannot write {str(tmp_path / ps.labels[0])!r}"[:-1] in str(caught.value)
    assert _poster_bytes(tmp_path) == old  # byte-identical, no temporary files or folders


def test_poster_messages_show_plain_values(grids):
    ps = prepare_posters(grids)
    with pytest.raises(ValueError) as caught:
        grid_poster(ps, np.str_("nope"))
    assert "'nope'" in str(caught.value) and "np." not in str(caught.value)
    with pytest.raises(ValueError) as caught:
        write_posters(ps, "unused", formats=(np.str_("gif"),))
    assert "np." not in str(caught.value)


def test_unprojectable_coordinates_are_refused(grids, sample_file, tmp_path, capsys):
    metric = grids.to_crs(32635)
    far = metric.set_geometry(metric.geometry.translate(1e12, 1e12))  # 1e12 m: off the Earth
    with pytest.raises(gk.CRSError, match="longitude/latitude"):
        prepare_posters(far)
    gk.write_layer(far, tmp_path / "far.gpkg", layer="grids")
    out = tmp_path / "map.html"
    code = cli.main(
        ["map", "--grids", str(tmp_path / "far.gpkg"), "--tiles", "none", "-o", str(out)]
    )
    assert code == 2 and not out.exists()  # an error, not a blank page
    assert "longitude/latitude" in capsys.readouterr().err


@settings(max_examples=150, deadline=None)
@given(
    aspect=st.floats(0.05, 20),
    paper=st.sampled_from(sorted(PAPER_SIZES)),
    landscape=st.sampled_from([None, True, False]),
    info=st.sampled_from([("bottom", "right"), ("bottom",), ()]),
)
def test_layout_fits_the_page_and_keeps_frames_apart(aspect, paper, landscape, info):
    lay = poster_layout(PAPER_SIZES[paper], aspect, landscape=landscape, info=info)
    w, h = lay.size
    if landscape is not None:
        assert (w > h) == landscape
    rects = [lay.map, lay.panel] + ([lay.info] if lay.info else [])
    for x, y, rw, rh in rects:  # on the page, below the title band
        assert x >= 0 and y >= 0 and x + rw <= w + 1e-9 and y + rh <= h - 1.0 + 1e-9
    for a, b in combinations(rects, 2):  # no frame overlaps another
        assert (
            a[0] + a[2] <= b[0] + 1e-9
            or b[0] + b[2] <= a[0] + 1e-9
            or (a[1] + a[3] <= b[1] + 1e-9 or b[1] + b[3] <= a[1] + 1e-9)
        )
    lo, hi = ASPECT_RANGE
    assert lay.map[2] / lay.map[3] == pytest.approx(min(max(aspect, lo), hi))
    assert (lay.info is not None) == bool(info)
