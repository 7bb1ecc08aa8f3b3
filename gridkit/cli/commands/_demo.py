"""What the steps of ``gridkit demo`` share: the context, fake staff, grids and road graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from gridkit.layers import Layers

#: How many grids ``gridkit demo`` makes of the sample.
DEMO_GRIDS = 20
#: Made-up persons per grid in the demo (the sample has no staff table).
DEMO_STAFF_PER_GRID = 3
#: In the demo, no basic unit may weigh more than this share of a grid's target.
DEMO_MAX_UNIT_SHARE = 0.25
#: The sample's map data licence, printed on what the demo publishes.
OSM_ATTRIBUTION = "Map data © OpenStreetMap contributors (ODbL)"


@dataclass
class DemoContext:
    """State passed between the steps of ``gridkit demo``.

    Attributes
    ----------
    layers
        The sample layers, checked and in the working CRS.
    outdir
        Where the steps write their files.
    results
        What earlier steps produced, by name ("units", "grids", ...), in the
        working CRS.
    summary
        Lines printed at the end, one per step or more.
    """

    layers: Layers
    outdir: Path
    results: dict[str, object] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def add(self, line: str, *paths: Path) -> None:
        self.summary.append(line)
        self.files.extend(Path(p) for p in paths)


def demo_staff(ctx: DemoContext, grids: pd.DataFrame) -> pd.DataFrame:
    """The demo's clearly fake staff, made once and shared by every step.

    ``DEMO_STAFF_PER_GRID`` persons per grid, named 示例人员 NN with phones
    000-0000-NNNN, so that nobody mistakes them for real people.
    """
    import pandas as pd

    if "staff" not in ctx.results:
        ids = [str(g) for g in grids["grid_id"] for _ in range(DEMO_STAFF_PER_GRID)]
        n = range(1, len(ids) + 1)
        ctx.results["staff"] = pd.DataFrame({
            "name": [f"示例人员 {i:02d}" for i in n],
            "phone": [f"000-0000-{i:04d}" for i in n],
            "grid_id": ids,
        })
    return ctx.results["staff"]


def published_grids(ctx: DemoContext) -> tuple[gpd.GeoDataFrame, str]:
    """The demo's coded grids (computed once, shared with `report`) and their source."""
    import geopandas as gpd

    from gridkit.publish.codes import assign_codes

    if "published" in ctx.results:
        return ctx.results["published"], ctx.results["published_source"]
    grids = ctx.results.get("grids")
    if isinstance(grids, gpd.GeoDataFrame) and len(grids) and "village_code" in grids.columns:
        source = "partition grids"
        grids = grids.copy()
        if "grid_id" not in grids.columns:
            grids["grid_id"] = [f"G{i + 1:03d}" for i in range(len(grids))]
    else:  # the partition step is absent: every village is one grid
        source = "villages as grids (no partition result)"
        villages = ctx.layers["villages"]
        grids = villages.rename(columns={"code": "village_code"})
        grids["grid_id"] = grids["village_code"].astype(str)
    coded = assign_codes(grids)
    ctx.results["published"] = coded
    ctx.results["published_source"] = source
    demo_staff(ctx, coded)
    return coded, source


def patrol_grids(ctx: DemoContext) -> tuple[gpd.GeoDataFrame, str]:
    """The partition's grids, or the sample villages standing in for them."""
    import geopandas as gpd

    grids = ctx.results.get("grids")
    if isinstance(grids, gpd.GeoDataFrame) and "grid_id" in grids.columns and len(grids):
        return grids, "grids"
    villages = ctx.layers["villages"]
    g = villages.assign(
        grid_id=villages["code"].astype(str), village_code=villages["code"].astype(str)
    )
    return g, "villages as grids (no partition result)"


def demo_graph(ctx: DemoContext):
    from gridkit.routing.roadgraph import road_graph

    G = ctx.results.get("road_graph")
    if G is None:
        G = road_graph(ctx.layers["roads"])
        ctx.results["road_graph"] = G
    return G
