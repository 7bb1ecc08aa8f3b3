"""Helpers shared by the subcommands: common options, reading, writing, output CRS."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridkit.layers import Layers

log = logging.getLogger("gridkit.cli")

#: How many grids ``gridkit demo`` makes of the sample.
DEMO_GRIDS = 20
#: Made-up persons per grid in the demo (the sample has no staff table).
DEMO_STAFF_PER_GRID = 3
#: In the demo, no basic unit may weigh more than this share of a grid's target.
DEMO_MAX_UNIT_SHARE = 0.25


def add_crs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--crs",
        help="metric working CRS (e.g. EPSG:4547); default: the layers' own metric CRS, "
        "else the CGCS2000 Gauss-Krüger zone in China, else the UTM zone",
    )
    parser.add_argument(
        "--strict", action="store_true", help="refuse invalid geometries instead of repairing them"
    )


def add_output_option(parser: argparse.ArgumentParser, *, default: str | None = None,
                      help: str = "output file (GeoPackage unless the extension says otherwise)"):
    parser.add_argument("-o", "--output", default=default, required=default is None, help=help)


def back_to_input_crs(gdf: gpd.GeoDataFrame, layers: Layers) -> gpd.GeoDataFrame:
    """Results go back out in the CRS of the input layers."""
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None and gdf.crs != layers.input_crs:
        return gdf.to_crs(layers.input_crs)
    return gdf


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
    if "staff" not in ctx.results:
        ids = [str(g) for g in grids["grid_id"] for _ in range(DEMO_STAFF_PER_GRID)]
        n = range(1, len(ids) + 1)
        ctx.results["staff"] = pd.DataFrame({
            "name": [f"示例人员 {i:02d}" for i in n],
            "phone": [f"000-0000-{i:04d}" for i in n],
            "grid_id": ids,
        })
    return ctx.results["staff"]


def frame_text(df: pd.DataFrame, *, max_rows: int = 30) -> str:
    with pd.option_context("display.max_rows", max_rows, "display.width", 120):
        return df.to_string(index=False)
