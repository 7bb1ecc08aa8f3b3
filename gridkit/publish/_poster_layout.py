"""Where things go on a poster page: the map frame fitted to the grid's shape.

A page holds a title band, the map frame, a panel for the legend, north arrow
and scale bar (its own frame, next to or below the map: no data is drawn in
it), an information box (the grid's figures and persons; the code list on
the overview) and a footer. The frame takes the grid's proportions, so a tall
grid gets a tall frame and a wide one a wide frame instead of a big empty
band; among the arrangements that fit the page (information below or beside
the map, panel beside or below the frame, portrait or landscape when the
caller leaves the orientation open) the one with the largest map wins, an
arrangement that leaves room empty counting for less. A
library such as matplotlib's constrained layout arranges axes on a grid of
fixed proportions, not around a map whose shape is given, hence this module.
"""

from __future__ import annotations

from dataclasses import dataclass

# inches
MARGIN = 0.4
TITLE = 1.15
FOOTER = 0.35
GAP = 0.15
INFO_H = 2.5
INFO_W = 3.3
PANEL_W = 2.0
PANEL_H = 1.35
MIN_SIDE_PANEL_H = 3.4  # the legend (up to 8 entries), arrow and scale bar stacked
MIN_BELOW_PANEL_W = 4.4  # the same side by side (the legend in two columns)
#: The frame's proportions are the grid's, kept within these (width / height):
#: a sliver of a grid still gets a readable frame, showing more of its surroundings.
ASPECT_RANGE = (0.45, 2.6)

Rect = tuple[float, float, float, float]  # x, y, width, height in inches


@dataclass(frozen=True)
class Layout:
    """A page arrangement (inches from the lower left corner)."""

    size: tuple[float, float]
    map: Rect
    panel: Rect
    info: Rect | None
    panel_below: bool
    slack: float = 0.0  # the share of the room for map and panel that stays empty

    @property
    def landscape(self) -> bool:
        return self.size[0] > self.size[1]

    def frac(self, rect: Rect) -> list[float]:
        """``rect`` in figure fractions (for ``Figure.add_axes``)."""
        w, h = self.size
        return [rect[0] / w, rect[1] / h, rect[2] / w, rect[3] / h]


def _fit(aspect: float, box_w: float, box_h: float) -> tuple[float, float]:
    w = min(box_w, box_h * aspect)
    return w, w / aspect


def _arrange(size, aspect: float, info: str | None, below: bool) -> Layout | None:
    w, h = size
    x0, y0, x1, y1 = MARGIN, FOOTER, w - MARGIN, h - TITLE
    info_rect = None
    if info == "bottom":
        info_rect = (x0, y0, x1 - x0, INFO_H)
        y0 += INFO_H + GAP
    elif info == "right":
        info_rect = (x1 - INFO_W, y0, INFO_W, y1 - y0)
        x1 -= INFO_W + GAP
    rw, rh = x1 - x0, y1 - y0
    if rw <= 1 or rh <= 1:
        return None
    if below:
        fw, fh = _fit(aspect, rw, rh - PANEL_H - GAP)
        if fw < MIN_BELOW_PANEL_W:
            return None
        bx = x0 + (rw - fw) / 2
        by = y0 + (rh - fh - GAP - PANEL_H) / 2
        frame = (bx, by + PANEL_H + GAP, fw, fh)
        panel = (bx, by, fw, PANEL_H)
    else:
        fw, fh = _fit(aspect, rw - PANEL_W - GAP, rh)
        if fh < MIN_SIDE_PANEL_H:
            return None
        bx = x0 + (rw - fw - GAP - PANEL_W) / 2
        by = y0 + (rh - fh) / 2
        frame = (bx, by, fw, fh)
        panel = (bx + fw + GAP, by, PANEL_W, fh)
    block = (
        (frame[2] + panel[2] + GAP) * frame[3]
        if not below
        else (frame[2] * (frame[3] + panel[3] + GAP))
    )
    return Layout(size, frame, panel, info_rect, below, 1 - block / (rw * rh))


def _score(layout: Layout) -> float:
    """The map's area, less for room left empty (a band of nothing is what looks wrong)."""
    return layout.map[2] * layout.map[3] * (1 - 0.5 * layout.slack)


def poster_layout(
    paper: tuple[float, float], aspect: float, *, landscape: bool | None, info: tuple[str, ...]
) -> Layout:
    """The arrangement with the largest map frame of the grid's ``aspect`` (width / height).

    ``paper`` is (width, height) in inches, portrait; ``landscape`` None tries
    both orientations; ``info`` the places the information box may take
    (``"bottom"``, ``"right"``; empty for none).
    """
    lo, hi = ASPECT_RANGE
    aspect = min(max(aspect, lo), hi)
    portrait = (min(paper), max(paper))
    sizes = (
        [portrait, portrait[::-1]]
        if landscape is None
        else ([portrait[::-1]] if landscape else [portrait])
    )
    best: Layout | None = None
    for size in sizes:
        for place in info or (None,):
            for below in (False, True):
                cand = _arrange(size, aspect, place, below)
                if cand is None:
                    continue
                if best is None or _score(cand) > _score(best) * 1.02:
                    best = cand
    if best is None:  # a page too small for every arrangement: the map above the panel
        size = sizes[0]
        w, h = size
        best = Layout(
            size,
            (MARGIN, h / 2, w - 2 * MARGIN, h / 2 - TITLE),
            (MARGIN, FOOTER, w - 2 * MARGIN, h / 2 - FOOTER - GAP),
            None,
            True,
        )
    return best
