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
#: Made-up persons per grid the example staff table (data/staff.csv) does not name.
DEMO_STAFF_PER_GRID = 3
#: In the demo, no basic unit may weigh more than this share of the mean grid: a fifth,
#: so that the sample's lightest village (two grids 32% under the mean) can still be
#: balanced within the 2% tolerance with whole units.
DEMO_MAX_UNIT_SHARE = 0.2


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

    The committed example table ``data/staff.csv`` (fake persons, 示例人员 NN,
    phones 000-0000-NNNN, for the sample's 20 grids, the table the README uses);
    a grid it does not name gets ``DEMO_STAFF_PER_GRID`` made-up persons of the
    same kind, so that nobody mistakes them for real people.
    """
    import pandas as pd

    if "staff" not in ctx.results:
        ids = [str(g) for g in grids["grid_id"]]
        table = example_staff()
        table = table[table["grid_id"].isin(ids)][["name", "phone", "grid_id"]]
        named = set(table["grid_id"])
        rest = [g for g in ids if g not in named for _ in range(DEMO_STAFF_PER_GRID)]
        n = range(len(table) + 1, len(table) + len(rest) + 1)
        made = pd.DataFrame({
            "name": [f"示例人员 {i:02d}" for i in n],
            "phone": [f"000-0000-{i:04d}" for i in n],
            "grid_id": rest,
        })
        ctx.results["staff"] = pd.concat([table, made], ignore_index=True)
    return ctx.results["staff"]


def example_staff() -> pd.DataFrame:
    """``data/staff.csv``: the example staff table of fake persons (empty when absent)."""
    import pandas as pd

    from gridkit.io.files import read_table
    from gridkit.io.sample import sample_path

    path = sample_path().with_name("staff.csv")
    if not path.exists():
        return pd.DataFrame({"name": [], "phone": [], "grid_id": []}, dtype=str)
    return read_table(path)


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
