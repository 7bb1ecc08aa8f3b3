"""Fixtures shared by the partition tests: the sample's units and their adjacency."""

import warnings

import pytest

from gridkit.errors import GridkitWarning
from gridkit.units.adjacency import unit_adjacency
from gridkit.units.build import build_units


@pytest.fixture(scope="module")
def units(sample_layers):
    """The sample's basic units (working CRS, UTM 35N)."""
    layers = sample_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        return build_units(layers["roads"], layers["jurisdiction"], villages=layers["villages"],
                           barriers=layers["barriers"], buildings=layers["buildings"],
                           entities=layers["entities"]).units


@pytest.fixture(scope="module")
def units_adjacency(units, sample_layers):
    return unit_adjacency(units, roads=sample_layers["roads"], villages=sample_layers["villages"])
