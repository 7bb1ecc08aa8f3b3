"""Shared fixtures: the real sample (central Helsinki, OSM) and small helpers."""

from __future__ import annotations

import geopandas as gpd
import pytest

from gridkit import load_layers, load_sample, sample_path
from gridkit.io.sample import SAMPLE_LAYERS


@pytest.fixture(scope="session")
def sample_file():
    return sample_path()


@pytest.fixture(scope="session")
def _sample_layers():
    return load_sample()


@pytest.fixture
def sample(_sample_layers) -> dict[str, gpd.GeoDataFrame]:
    """The sample layers in EPSG:4326; fresh copies for each test."""
    return {k: v.copy() for k, v in _sample_layers.items()}


@pytest.fixture(scope="session")
def sample_layers(sample_file):
    """The sample as a checked :class:`gridkit.Layers` in its metric working CRS.

    Shared by the session: tests must not modify it.
    """
    return load_layers(**{name: f"{sample_file}:{name}" for name in SAMPLE_LAYERS})
