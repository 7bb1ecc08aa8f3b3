"""`gridkit info`: what a file holds (layers, features, geometry, CRS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridkit.cli.commands._common import add_source_options, frame_text

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import pandas as pd


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="list the layers of files: features, geometry types, CRS, bounds",
        description="Summarise PATH or PATH:LAYER sources (any format pyogrio reads, GeoParquet).",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="PATH or PATH:LAYER")
    add_source_options(p)
    p.set_defaults(func=run)


def describe(source: str) -> pd.DataFrame:
    """One row per layer of ``source``."""
    import geopandas as gpd
    import pandas as pd

    from gridkit.errors import MissingColumnError
    from gridkit.io.files import list_layers, parse_source, read_layer, read_table

    path, layer = parse_source(source)
    rows = []
    for name in [layer] if layer else list_layers(path):
        try:
            gdf = read_layer(path, layer=name)
        except MissingColumnError:  # a CSV/XLSX without coordinate columns: a plain table
            gdf = read_table(path, layer=name)
        spatial = isinstance(gdf, gpd.GeoDataFrame) and gdf._geometry_column_name in gdf
        if not spatial:
            crs, geom = "-", "table"
        else:
            crs = gdf.crs.to_string() if gdf.crs is not None else "NONE (set one!)"
            geom = ", ".join(sorted(gdf.geom_type.dropna().unique())) if len(gdf) else "-"
        rows.append({"file": path.name, "layer": name, "features": len(gdf), "geometry": geom,
                     "crs": crs, "columns": len(gdf.columns) - int(spatial)})
    return pd.DataFrame(rows)


def run(args) -> int:
    import pandas as pd

    print(frame_text(pd.concat([describe(s) for s in args.sources], ignore_index=True)))
    return 0
