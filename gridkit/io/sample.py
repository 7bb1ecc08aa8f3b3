"""The bundled sample: central Helsinki from OpenStreetMap (see data/README.md)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from gridkit.errors import LayerNotFoundError
from gridkit.io.files import list_layers, read_layer

__all__ = ["sample_path", "load_sample", "SAMPLE_LAYERS"]

SAMPLE_LAYERS = ("jurisdiction", "villages", "roads", "barriers", "buildings", "entities")


def sample_path() -> Path:
    """Path of ``data/sample.gpkg`` in the source tree (install with ``pip install -e .``)."""
    path = Path(__file__).resolve().parents[2] / "data" / "sample.gpkg"
    if not path.exists():
        raise LayerNotFoundError(
            f"the sample {path} is missing: install gridkit from a clone with "
            "`pip install -e .`, or rebuild it with `python data/build_sample.py`"
        )
    return path


def load_sample() -> dict[str, gpd.GeoDataFrame]:
    """All layers of the sample, in their stored CRS (EPSG:4326), by name.

    Examples
    --------
    >>> layers = load_sample()
    >>> sorted(layers)
    ['barriers', 'buildings', 'entities', 'jurisdiction', 'roads', 'villages']
    """
    path = sample_path()
    return {name: read_layer(path, layer=name) for name in list_layers(path)}
