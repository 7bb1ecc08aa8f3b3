"""Printable posters (公示图) per grid and for the whole jurisdiction (matplotlib).

Each poster is a page of A4 or A3 with a title (the grid's name: its village
and sequence, and its code), a map of the boundary over roads and buildings
(and entities by risk class) in a frame fitted to the grid's shape, a panel
of its own with the legend, north arrow and scale bar (no data is drawn in
it), the grid's figures with its village by name and code, and the persons
responsible with their phones. Maps are drawn in the metric working CRS, so
the scale bar is true. When a layer comes from OpenStreetMap the ODbL credit
is printed on every poster, whoever calls. Chinese text needs a CJK font
(Debian ``fonts-noto-cjk`` or ``fonts-wqy-zenhei``); without one a
:class:`~gridkit.errors.GridkitWarning` says so and the text shows as boxes.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError
from gridkit.io.atomic import staged
from gridkit.layers import check_layer
from gridkit.progress import progress
from gridkit.publish._bounds import check_drawable
from gridkit.publish._colour import grid_colours
from gridkit.publish._files import unique_stems
from gridkit.publish._messages import plain
from gridkit.publish._names import grid_titles, village_names, village_text, with_osm_credit
from gridkit.publish._popups import area_text, hours_text
from gridkit.publish._poster_draw import draw_lines, draw_outlines, draw_points, draw_polygons
from gridkit.publish._poster_font import font_families
from gridkit.publish._poster_layout import Layout, poster_layout
from gridkit.publish._poster_panel import draw_panel
from gridkit.publish.options import PAPER_SIZES
from gridkit.publish.tables import grid_keys, grid_stats, staff_by_grid

__all__ = [
    "PAPER_SIZES",
    "PosterSet",
    "prepare_posters",
    "grid_poster",
    "jurisdiction_poster",
    "write_posters",
]

log = logging.getLogger(__name__)

_RISK = {1: ("#d7191c", "一类风险"), 2: ("#fdae61", "二类风险"), 3: ("#1a9641", "三类风险")}


@dataclass
class PosterSet:
    """Everything the posters draw, in the metric working CRS (see :func:`prepare_posters`)."""

    grids: gpd.GeoDataFrame
    stats: pd.DataFrame
    labels: list[str]
    colours: list[str]
    roads: gpd.GeoDataFrame | None
    buildings: gpd.GeoDataFrame | None
    entities: gpd.GeoDataFrame | None
    jurisdiction: gpd.GeoDataFrame | None
    fonts: list[str]
    attribution: str | None
    title: str | None
    names: list[str] | None = None
    villages: list[str] | None = None


def prepare_posters(
    grids: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    entities: gpd.GeoDataFrame | None = None,
    jurisdiction: gpd.GeoDataFrame | None = None,
    staff: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    attribution: str | None = None,
    title: str | None = None,
    villages: gpd.GeoDataFrame | None = None,
) -> PosterSet:
    """Check the layers, bring them into the working CRS and compute the figures once.

    ``villages`` (``code``, ``name``) gives each grid's village name (matched
    on ``village_code``) when the grids carry no ``village_name``: titles
    read "<village> 第N网格" (N = ``grid_seq``) unless a grid has its own
    ``name``. ``attribution`` is printed at the foot of every poster; when
    a layer comes from OpenStreetMap (an ``osm_id`` column, as in the
    sample), the OpenStreetMap credit is added to it (ODbL).
    """
    grids = check_layer(grids, "grids", id_column="", required=())
    check_drawable(grids, "grids")  # a layer off the Earth would give a blank poster
    crs = working_crs(grids)
    metric = to_crs(grids, crs).reset_index(drop=True)
    stats = pd.DataFrame(
        grid_stats(metric, assignment=assignment, entities=entities, buildings=buildings)
    ).reset_index(drop=True)
    people = staff_by_grid(staff, grid_keys(stats))
    stats["persons"] = people["persons"].to_numpy()
    stats["phones"] = people["phones"].to_numpy()
    labels = []
    for i in range(len(metric)):
        row = metric.iloc[i]
        labels.append(
            str(
                next(
                    (
                        row[c]
                        for c in ("grid_code", "grid_id", "name", "code")
                        if c in metric.columns and pd.notna(row[c])
                    ),
                    i + 1,
                )
            )
        )

    def layer(gdf, kind):
        return None if gdf is None else to_crs(check_layer(gdf, kind, id_column=""), crs)

    vnames = village_names(metric, villages)
    vcodes = [
        str(v) if pd.notna(v) else ""
        for v in metric.get("village_code", pd.Series([None] * len(metric)))
    ]
    credit = with_osm_credit(attribution, grids, roads, buildings, entities, jurisdiction, villages)

    return PosterSet(
        grids=metric,
        stats=stats,
        labels=labels,
        colours=grid_colours(metric.geometry.values),
        roads=layer(roads, "roads"),
        buildings=layer(buildings, "buildings"),
        entities=layer(entities, "entities"),
        jurisdiction=layer(jurisdiction, "jurisdiction"),
        fonts=font_families(),
        attribution=credit,
        title=title,
        names=grid_titles(metric, villages),
        villages=[village_text(n, c) for n, c in zip(vnames, vcodes, strict=True)],
    )


def _layout(ps: PosterSet, bounds, paper: str, landscape, info, pad: float) -> Layout:
    if paper not in PAPER_SIZES:
        raise InvalidValueError(
            f"unknown `paper` {plain(paper)!r}; use one of {sorted(PAPER_SIZES)}"
        )
    x0, y0, x1, y1 = bounds
    aspect = max(x1 - x0, 1.0) / max(y1 - y0, 1.0)
    return poster_layout(PAPER_SIZES[paper], aspect, landscape=landscape, info=info)


def _page(layout: Layout) -> Figure:
    # a bare Figure, not pyplot: posters never open a window, never change the
    # caller's backend, and are freed with their last reference
    fig = Figure(figsize=layout.size)
    fig.patch.set_facecolor("white")
    return fig


def _map_axes(fig: Figure, layout: Layout) -> Axes:
    ax = fig.add_axes(layout.frac(layout.map), label="map")
    ax.set_axis_off()
    frame = Rectangle(
        (0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="#999", lw=0.8, zorder=30
    )
    frame.set_clip_on(False)
    ax.add_patch(frame)
    return ax


def _extent(ax, bounds, pad: float = 0.12) -> None:
    """Fit ``bounds`` (padded) into the axes at an equal aspect."""
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    x0, x1, y0, y1 = x0 - w * pad, x1 + w * pad, y0 - h * pad, y1 + h * pad
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    box_ratio = (bbox.width * fig_w) / (bbox.height * fig_h)
    w, h = x1 - x0, y1 - y0
    if w / h < box_ratio:
        grow = (h * box_ratio - w) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (w / box_ratio - h) / 2
        y0, y1 = y0 - grow, y1 + grow
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")


def _clip(gdf: gpd.GeoDataFrame | None, ax) -> gpd.GeoDataFrame | None:
    if gdf is None or gdf.empty:
        return None
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    part = gdf.cx[x0:x1, y0:y1]
    return part if len(part) else None


def _base_layers(ax, ps: PosterSet, handles: list) -> None:
    buildings = _clip(ps.buildings, ax)
    if buildings is not None:
        polys = buildings[buildings.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polys):
            draw_polygons(
                ax,
                polys.geometry.values,
                facecolor="#c9c1b6",
                edgecolor="#a39a8e",
                linewidth=0.2,
                zorder=2,
            )
        handles.append(Patch(facecolor="#c9c1b6", edgecolor="#a39a8e", label="建筑 buildings"))
    roads = _clip(ps.roads, ax)
    if roads is not None:
        draw_lines(ax, roads.geometry.values, color="#8c8c8c", linewidth=0.5, zorder=3)
        handles.append(Line2D([], [], color="#8c8c8c", lw=1, label="道路 roads"))


def _entities(ax, ps: PosterSet, handles: list, size: float = 9) -> None:
    ent = _clip(ps.entities, ax)
    if ent is None:
        return
    risk = (
        pd.to_numeric(ent["risk"], errors="coerce")
        if "risk" in ent
        else pd.Series(np.nan, index=ent.index)
    )
    for r, (colour, name) in _RISK.items():
        part = ent[risk == r]
        if len(part):
            draw_points(
                ax,
                part.geometry.values,
                color=colour,
                s=size,
                edgecolor="black",
                linewidth=0.2,
                zorder=6,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="",
                    color=colour,
                    markeredgecolor="black",
                    markersize=5,
                    label=f"{name} risk {r}",
                )
            )


def _fmt(value, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        value = round(float(value))
    return (
        f"{int(value):,}{unit}" if isinstance(value, (int, np.integer, float)) else f"{value}{unit}"
    )


def _facts(stats: pd.Series, code: str, village: str) -> list[tuple[str, str]]:
    out = [("网格编码 Code", code)]
    if village:
        out.append(("村/社区 Village", village))
    area = stats.get("area_m2")
    out.append(("面积 Area", f"{_fmt(area)} m² ({area_text(area)})"))
    for col, label in (("households", "户数 Households"), ("entities", "主体户数 Entities")):
        if col in stats:
            out.append((label, _fmt(stats[col])))
    risks = [c for c in ("entities_risk1", "entities_risk2", "entities_risk3") if c in stats]
    if risks:
        out.append(("一/二/三类风险 Risk", " / ".join(_fmt(stats[c]) for c in risks)))
    regimes = [c for c in ("entities_key", "entities_general", "entities_exempt") if c in stats]
    if regimes:
        out.append(("重点/一般/免检", " / ".join(_fmt(stats[c]) for c in regimes)))
    if "workload_min" in stats:
        out.append(("月工作量 Workload", hours_text(stats["workload_min"])))
    return out


def _footer(fig, ps: PosterSet) -> None:
    text = f"{_dt.date.today().isoformat()} · gridkit"
    if ps.attribution:
        text += f" · {ps.attribution}"
    fig.text(0.5, 0.012, text, ha="center", va="bottom", fontsize=7, color="#555", family=ps.fonts)


def _heading(fig, layout: Layout, title: str, subtitle: str, fonts) -> None:
    h = layout.size[1]
    fig.text(
        0.5, 1 - 0.3 / h, title, ha="center", va="top", fontsize=19, weight="bold", family=fonts
    )
    fig.text(0.5, 1 - 0.78 / h, subtitle, ha="center", va="top", fontsize=11, family=fonts)


def _locate(ps: PosterSet, grid) -> int:
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        if not 0 <= grid < len(ps.grids):
            raise InvalidValueError(
                f"`grid` position {grid} is out of range (0..{len(ps.grids) - 1})"
            )
        return int(grid)
    for col in ("grid_code", "grid_id"):
        if col in ps.grids.columns:
            hit = np.flatnonzero(ps.grids[col].astype(str).to_numpy() == str(grid))
            if len(hit):
                return int(hit[0])
    raise InvalidValueError(f"no grid with code or id {plain(grid)!r}")


def _name(ps: PosterSet, i: int) -> str:
    name = ps.names[i] if ps.names else ""
    return "" if name == ps.labels[i] else name


def _village(ps: PosterSet, i: int) -> str:
    return ps.villages[i] if ps.villages else ""


def grid_poster(ps: PosterSet, grid, *, paper: str = "A4", landscape: bool | None = None) -> Figure:
    """The poster of one grid (a matplotlib Figure, not registered with pyplot).

    Parameters
    ----------
    ps
        From :func:`prepare_posters`.
    grid
        The grid's ``grid_code``, ``grid_id`` or position.
    paper
        ``"A4"`` or ``"A3"``.
    landscape
        ``True`` or ``False`` for landscape or portrait; ``None`` (default)
        takes whichever gives the grid's map the most room (a wide grid is
        printed landscape).

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> ps = prepare_posters(s["villages"], roads=s["roads"])  # doctest: +SKIP
    >>> grid_poster(ps, 0).savefig("grid.pdf")  # doctest: +SKIP
    """
    i = _locate(ps, grid)
    row = ps.stats.iloc[i]
    bounds = ps.grids.geometry.iloc[i].bounds
    layout = _layout(ps, bounds, paper, landscape, ("bottom", "right"), 0.12)
    fig = _page(layout)
    fonts = ps.fonts
    name, code, village = _name(ps, i), ps.labels[i], _village(ps, i)
    heading = ps.title or "网格公示"
    subtitle = f"网格编码 Grid code {code}"
    if village:
        subtitle += f"  ·  村/社区 {village}"
    _heading(fig, layout, f"{heading}  {name}".strip(), subtitle, fonts)
    ax = _map_axes(fig, layout)
    _extent(ax, bounds)
    handles: list = []
    _base_layers(ax, ps, handles)
    others = _clip(ps.grids.drop(index=i), ax)
    if others is not None:
        draw_outlines(
            ax, others.geometry.values, color="#555", linewidth=0.8, linestyle="--", zorder=4
        )
    this = ps.grids.iloc[[i]]
    draw_polygons(
        ax, this.geometry.values, facecolor=ps.colours[i], alpha=0.35, edgecolor="none", zorder=1
    )
    draw_outlines(ax, this.geometry.values, color="#b2182b", linewidth=2.5, zorder=5)
    handles.insert(
        0,
        Patch(facecolor=ps.colours[i], edgecolor="#b2182b", linewidth=2, label="本网格 this grid"),
    )
    handles.insert(1, Line2D([], [], color="#555", ls="--", lw=1, label="相邻网格 neighbours"))
    _entities(ax, ps, handles)
    draw_panel(fig, layout, ax, handles, fonts)
    _info_box(fig, layout, _facts(row, code, village), row, fonts)
    _footer(fig, ps)
    return fig


def _info_box(fig, layout: Layout, facts, row: pd.Series, fonts) -> None:
    """The grid's figures and its persons: side by side below the map, stacked beside it."""
    x, y, w, h = layout.info
    box = fig.add_axes(layout.frac(layout.info), label="info")
    box.set_axis_off()
    box.set_xlim(0, w)
    box.set_ylim(0, h)
    box.add_patch(Rectangle((0, 0), w, h, facecolor="#f7f7f7", edgecolor="#999", clip_on=False))
    stacked = w < 2 * h  # a column beside the map: each value under its label
    step = 0.44 if stacked else 0.26
    value_x, value_dy = (0.15, 0.19) if stacked else (1.55, 0.0)
    for k, (label, value) in enumerate(facts):
        top = h - 0.22 - k * step
        box.text(0.15, top, label, fontsize=8.5, color="#555", va="top", family=fonts)
        box.text(
            value_x, top - value_dy, value, fontsize=9.5, weight="bold", va="top", family=fonts
        )
    if stacked:
        px, top = 0.15, h - 0.22 - len(facts) * step - 0.15
    else:
        px, top = w * 0.56, h - 0.22
    box.text(px, top, "责任人 Responsible", fontsize=10, color="#555", va="top", family=fonts)
    persons = [p for p in str(row.get("persons", "")).split("; ") if p]
    phones = str(row.get("phones", "")).split("; ")
    room = max(int((top - 0.45) // 0.3), 1)
    if not persons:
        box.text(px, top - 0.32, "(未指定 not assigned)", fontsize=10, va="top", family=fonts)
    for k, person in enumerate(persons[:room]):
        phone = phones[k] if k < len(phones) else ""
        box.text(
            px,
            top - 0.32 - k * 0.3,
            f"{person}   {phone}",
            fontsize=11,
            weight="bold",
            va="top",
            family=fonts,
        )
    if len(persons) > room:
        box.text(
            px,
            top - 0.32 - room * 0.3,
            f"… +{len(persons) - room}",
            fontsize=9,
            va="top",
            family=fonts,
        )


def jurisdiction_poster(
    ps: PosterSet, *, paper: str = "A4", landscape: bool | None = None
) -> Figure:
    """The overview poster: every grid coloured and labelled, with the list of codes.

    ``landscape=None`` (default) takes the orientation that gives the map the most room.
    """
    fonts = ps.fonts
    listing = len(ps.grids) <= 40
    outline = ps.jurisdiction if ps.jurisdiction is not None else ps.grids
    bounds = outline.total_bounds
    layout = _layout(ps, bounds, paper, landscape, ("bottom",) if listing else (), 0.04)
    fig = _page(layout)
    _heading(fig, layout, ps.title or "网格划分总图", f"{len(ps.grids)} 个网格 grids", fonts)
    ax = _map_axes(fig, layout)
    _extent(ax, bounds, pad=0.04)
    handles: list = []
    _base_layers(ax, ps, handles)
    for colour in sorted(set(ps.colours)):
        same = np.array(ps.colours) == colour
        draw_polygons(
            ax,
            ps.grids.geometry.values[same],
            facecolor=colour,
            alpha=0.45,
            edgecolor="none",
            zorder=1,
        )
    draw_outlines(ax, ps.grids.geometry.values, color="#333", linewidth=1.0, zorder=5)
    if ps.jurisdiction is not None:
        draw_outlines(ax, ps.jurisdiction.geometry.values, color="black", linewidth=2, zorder=5)
        handles.append(Line2D([], [], color="black", lw=2, label="辖区 jurisdiction"))
    handles.insert(
        0,
        Patch(
            facecolor=ps.colours[0] if ps.colours else "#ccc", edgecolor="#333", label="网格 grids"
        ),
    )
    points = ps.grids.geometry.representative_point()
    size = 7 if len(ps.grids) <= 60 else 5
    for p, text in zip(points, ps.labels, strict=True):
        ax.text(
            p.x,
            p.y,
            _short(text),
            ha="center",
            va="center",
            fontsize=size,
            weight="bold",
            family=fonts,
            zorder=7,
            clip_on=True,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    draw_panel(fig, layout, ax, handles, fonts)
    if listing:
        _listing(fig, layout, ps, fonts)
    _footer(fig, ps)
    return fig


def _short(code: str) -> str:
    """Village and sequence of a long numeric code ("001-002"); other labels as they are."""
    return f"{code[-6:-3]}-{code[-3:]}" if len(code) >= 12 and code.isdigit() else code


def _listing(fig, layout: Layout, ps: PosterSet, fonts) -> None:
    box = fig.add_axes(layout.frac(layout.info), label="info")
    box.set_axis_off()
    order = np.argsort(ps.labels, kind="stable")
    cols = 2 if len(order) > 10 else 1
    per_col = int(np.ceil(len(order) / cols))
    size = 8 if per_col <= 14 else 6
    for k, i in enumerate(order):
        c, r = divmod(k, per_col)
        names = [p for p in str(ps.stats["persons"].iloc[i]).split("; ") if p and p != "nan"]
        phones = str(ps.stats["phones"].iloc[i]).split("; ")[0]
        # one short line per grid, so that two columns never run into each other:
        # the first person and how many more (等 N 人 "N in all"); the grid poster lists all
        who = f"{names[0]} 等{len(names)}人" if len(names) > 1 else (names[0] if names else "-")
        line = f"{_short(ps.labels[i])}  {ps.labels[i]}  {who}  {phones}"
        box.text(
            c / cols,
            1 - (r + 0.5) * min(1 / max(per_col, 1), 0.09),
            line,
            fontsize=size,
            va="center",
            family=fonts,
        )


def _metadata(fmt: str, stem: str) -> dict | None:
    if fmt == "pdf":
        return {"Title": f"gridkit poster {stem}", "Creator": "gridkit"}
    if fmt == "png":
        return {"Title": f"gridkit poster {stem}", "Software": "gridkit"}
    return None


def _save(fig: Figure, stem: Path, out, formats, dpi: int) -> list[Path]:
    """Save ``fig`` in each format into the output set ``out``; the target paths."""
    paths = []
    # TrueType text in PDF/SVG: searchable and editable by the office
    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}):
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            meta = _metadata(fmt, stem.name)
            with out.writing(path) as tmp:
                fig.savefig(tmp, dpi=dpi if fmt == "png" else None, metadata=meta)
            paths.append(path)
    return paths


def write_posters(
    ps: PosterSet,
    folder: str | os.PathLike,
    *,
    formats: tuple[str, ...] = ("png", "pdf"),
    paper: str = "A4",
    landscape: bool | None = None,
    dpi: int = 150,
    per_grid: bool = True,
    only=None,
) -> list[Path]:
    """Write the jurisdiction poster and one poster per grid into ``folder``.

    Files: ``jurisdiction.<fmt>`` and ``<grid label>.<fmt>`` for each format
    (``png``, ``pdf``, ``svg``); ``only`` limits the per-grid posters to
    some grids (codes, ids or positions). Returns the paths written.

    The grid label (its code, else id or name) is made safe for a file name;
    when two labels give the same name (equal ignoring case, or differing
    only in characters a file name cannot hold), or a grid is labelled
    ``jurisdiction``, the later ones get ``-2``, ``-3``... in the grids'
    order and a :class:`~gridkit.errors.GridkitWarning` lists them: no
    poster overwrites another. All files are written as one set
    (:func:`gridkit.io.atomic.staged`): if one fails, the files already in
    ``folder`` stay exactly as they were.

    Examples
    --------
    >>> import gridkit as gk, tempfile
    >>> s = gk.load_sample()
    >>> ps = prepare_posters(s["villages"], roads=s["roads"])  # doctest: +SKIP
    >>> write_posters(ps, tempfile.mkdtemp(), formats=("pdf",))  # doctest: +SKIP
    """
    bad = [plain(f) for f in formats if f not in ("png", "pdf", "svg")]
    if bad:
        raise InvalidValueError(f"unknown poster format(s) {bad}; use png, pdf or svg")
    folder = Path(folder)
    stems = unique_stems(ps.labels, reserved=["jurisdiction"], what="grid")
    chosen = [] if not per_grid else range(len(ps.grids))
    if per_grid and only is not None:
        chosen = [_locate(ps, g) for g in only]
    paths: list[Path] = []
    with staged() as out:  # every poster, or none: old files stay until all are drawn
        fig = jurisdiction_poster(ps, paper=paper, landscape=landscape)
        paths += _save(fig, folder / "jurisdiction", out, formats, dpi)
        for i in progress(chosen, desc="posters", unit="grid"):
            fig = grid_poster(ps, i, paper=paper, landscape=landscape)
            paths += _save(fig, folder / stems[i], out, formats, dpi)
    log.info("wrote %d poster files into %s", len(paths), folder)
    return paths
