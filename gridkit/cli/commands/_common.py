"""Helpers shared by the subcommands: common options, reading, writing, output CRS."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd
    import pandas as pd

    from gridkit.layers import Layers

log = logging.getLogger("gridkit.cli")



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
    import geopandas as gpd

    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None and gdf.crs != layers.input_crs:
        return gdf.to_crs(layers.input_crs)
    return gdf


def frame_text(df: pd.DataFrame, *, max_rows: int = 30) -> str:
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.width", 120):
        return df.to_string(index=False)


_GROUP_LEVELS = ("town", "village")  # gridkit.scale.pipeline.GROUP_LEVELS (needs dask)


def add_distributed_options(p) -> None:
    """``--distributed``, ``--scheduler`` and ``--by``: one dask task per town or village."""
    g = p.add_argument_group("distributed (dask)", "run every town (or village) as its own "
                             "task, on a local cluster or an existing dask cluster")
    g.add_argument("--distributed", action="store_true",
                   help="one task per town or village on a local dask cluster started for "
                   "the run (needs villages with 12-digit codes for --by town)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="use this dask scheduler (e.g. tcp://10.0.0.5:8786, or 'synchronous' "
                   "to run the tasks in this process); implies --distributed")
    g.add_argument("--by", choices=_GROUP_LEVELS, default="town",
                   help="what one task holds (default: %(default)s; the town is the first 9 "
                   "digits of the village code)")


def distributed_requested(args) -> bool:
    return bool(getattr(args, "distributed", False) or getattr(args, "scheduler", None))
