"""The poster's legend panel: legend, north arrow and scale bar in their own frame.

The panel is an axes of its own next to (or below) the map frame, in inches;
the map's data is clipped to the map axes, so nothing of it reaches the panel.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gridkit.publish._poster_draw import north_arrow, scale_bar
from gridkit.publish._poster_layout import Layout


def metres_per_inch(map_ax: Axes, width_in: float) -> float:
    x0, x1 = map_ax.get_xlim()
    return (x1 - x0) / width_in


def draw_panel(fig: Figure, layout: Layout, map_ax: Axes, handles: list, fonts) -> Axes:
    """The panel axes (label ``"panel"``) with the legend of ``handles``, arrow, scale bar."""
    x, y, w, h = layout.panel
    ax = fig.add_axes(layout.frac(layout.panel), label="panel")
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_axis_off()
    ax.add_patch(
        Rectangle((0, 0), w, h, facecolor="white", edgecolor="#999", linewidth=0.8, clip_on=False)
    )
    mpi = metres_per_inch(map_ax, layout.map[2])
    prop = {"family": fonts, "size": 7.5}
    title = {"family": fonts, "size": 8.5, "weight": "bold"}
    if layout.panel_below:  # legend on the left, arrow over the scale bar on the right
        tools = 1.7
        # five rows fit the panel's height; columns of ~1.35 in its width
        ncol = max(-(-len(handles) // 5), min(3, int((w - tools) // 1.45)), 1)
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            ncol=ncol,
            columnspacing=1.2,
            frameon=False,
            prop=prop,
            title="图例 Legend",
            title_fontproperties=title,
            alignment="left",
        )
        north_arrow(ax, cx=w - tools / 2, cy=h - 0.55, size=0.25, family=fonts)
        bar_left, bar_bottom, bar_max = w - tools + 0.15, 0.22, tools - 0.45
    else:  # legend at the top, then the arrow, the scale bar at the bottom
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            frameon=False,
            prop=prop,
            title="图例 Legend",
            title_fontproperties=title,
            alignment="left",
        )
        north_arrow(ax, cx=w / 2, cy=1.05, size=0.28, family=fonts)
        bar_left, bar_bottom, bar_max = 0.2, 0.3, w - 0.6
    legend.set_in_layout(False)
    scale_bar(
        ax, metres_per_unit=mpi, left=bar_left, bottom=bar_bottom, max_width=bar_max, family=fonts
    )
    ax.text(
        bar_left,
        bar_bottom - 0.06,
        f"比例尺 scale 1:{_round_ratio(mpi / 0.0254)}",
        va="top",
        fontsize=6.5,
        color="#555",
        family=fonts,
    )
    return ax


def _round_ratio(ratio: float) -> str:
    """1:12,345 shown as 1:12,000 (the page is printed, not measured to the metre)."""
    step = 10 ** max(len(str(int(ratio))) - 2, 0)
    return f"{int(round(ratio / step) * step):,}"
