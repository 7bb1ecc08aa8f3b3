"""Checking and resolving the partition's inputs (weights, grid counts, adjacency)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridkit.errors import InvalidValueError, MissingColumnError, PartitionError


def resolve_weight(units: pd.DataFrame, weight) -> tuple[np.ndarray, str]:
    """The weight per unit as floats, and a label for it."""
    if isinstance(weight, str):
        if weight not in units.columns:
            raise MissingColumnError(
                f"weight: units have no column {weight!r}; use one of "
                f"{[c for c in units.columns if c != units.geometry.name]}"
            )
        values, label = units[weight], weight
    elif isinstance(weight, Mapping):
        if not weight:
            raise InvalidValueError("weight: the dict of column -> factor is empty")
        missing = [c for c in weight if c not in units.columns]
        if missing:
            raise MissingColumnError(f"weight: units have no column(s) {missing}")
        values = sum(pd.to_numeric(units[c], errors="coerce") * float(f) for c, f in weight.items())
        label = " + ".join(f"{f:g}*{c}" for c, f in weight.items())
    elif isinstance(weight, pd.Series):
        if not weight.index.equals(units.index):
            if not weight.index.isin(units.index).all() or not units.index.isin(weight.index).all():
                raise InvalidValueError(
                    "weight: the Series' index does not match the units' index; "
                    "align it first (weight.reindex(units.index))"
                )
            weight = weight.reindex(units.index)
        values, label = weight, str(weight.name or "weight")
    else:
        raise InvalidValueError(
            f"weight: expected a column name, a Series or a dict of column -> factor, "
            f"got {type(weight).__name__}"
        )
    num = pd.to_numeric(pd.Series(values, index=units.index), errors="coerce")
    bad = num.isna() | ~np.isfinite(num.fillna(0))
    if bad.any():
        raise InvalidValueError(
            f"weight {label!r}: {int(bad.sum())} unit(s) have no numeric weight (index "
            f"{list(units.index[bad][:5])}); fill them, e.g. units[col].fillna(0)"
        )
    if (num < 0).any():
        neg = num < 0
        raise InvalidValueError(
            f"weight {label!r}: {int(neg.sum())} negative value(s) (index "
            f"{list(units.index[neg][:5])}); weights must be >= 0"
        )
    return num.to_numpy(dtype=float), label


def check_counts(k, target, capacity, per_village: bool, existing) -> None:
    given = [name for name, v in (("k", k), ("target", target), ("capacity", capacity))
             if v is not None]
    if len(given) > 1:
        raise PartitionError(f"give only one of k, target, capacity (got {', '.join(given)})")
    if not given and existing is None:
        raise PartitionError(
            "say how many grids: k=number of grids, target=weight per grid or "
            "capacity=most weight one grid may carry (or existing=column to rebalance)"
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise PartitionError(f"k must be a whole number >= 1, got {k!r}")
    for name, v in (("target", target), ("capacity", capacity)):
        if v is not None and not (isinstance(v, (int, float, np.number)) and v > 0
                                  and math.isfinite(v)):
            raise PartitionError(f"{name} must be a positive number, got {v!r}")
    if per_village and k is None:
        raise PartitionError("per_village=True needs k (the number of grids in each village)")


def cut_costs(adjacency: pd.DataFrame, road_weight) -> np.ndarray:
    """Cut cost per adjacency row: shared length less the discounted road length."""
    shared = adjacency["shared_m"].to_numpy(dtype=float)
    if road_weight is None:
        return shared
    if "road_m" not in adjacency.columns:
        raise MissingColumnError(
            "road_weight needs the adjacency's road_m column: pass "
            "adjacency=gridkit.unit_adjacency(units, roads=roads)"
        )
    road = adjacency["road_m"].to_numpy(dtype=float)
    if isinstance(road_weight, Mapping):
        if "road_class" not in adjacency.columns:
            raise MissingColumnError(
                "road_weight by class needs the adjacency's road_class column: pass "
                "adjacency=gridkit.unit_adjacency(units, roads=roads) with roads carrying "
                "road_class"
            )
        factor = adjacency["road_class"].map(dict(road_weight)).astype(float).fillna(0.0).to_numpy()
    else:
        factor = np.full(len(shared), float(road_weight))
    if (factor < 0).any() or (factor > 1).any():
        raise InvalidValueError(
            "road_weight must lie in 0..1 (1: a border on a road costs nothing)")
    return np.maximum(shared - factor * road, 0.0)
