"""Measuring units: counts of buildings, households and entities, street length, workload."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridkit.units.assign import assign_buildings, assign_points, street_length
from gridkit.workload import REGIMES, Policy, patrol_minutes


def unit_workload(
    units: np.ndarray,
    *,
    streets: dict,
    building_geoms: np.ndarray | None = None,
    households: np.ndarray | None = None,
    entities: pd.DataFrame | None = None,
    entity_geoms: np.ndarray | None = None,
    policy: Policy,
    within: shapely.Geometry | None = None,
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Count and workload columns for unit polygons (metric CRS arrays).

    ``streets`` holds the arguments of :func:`street_length` but the units.

    ``entities`` must already be classified (:func:`classify_entities`).
    ``within``: the jurisdiction the units tile, which decides which points
    are inside (:func:`assign_points`).
    Returns ``(columns, building_unit, building_share, entity_unit)``; unit
    positions are ``-1`` outside.
    """
    n = len(units)
    cols: dict[str, np.ndarray] = {"area_m2": shapely.area(units)}
    b_unit = b_share = e_unit = None
    if building_geoms is not None:
        b_unit, b_share = assign_buildings(units, building_geoms, within=within)
        ok = b_unit >= 0
        cols["buildings"] = np.bincount(b_unit[ok], minlength=n)
        hh = np.zeros(len(building_geoms)) if households is None else households
        cols["households"] = np.bincount(b_unit[ok], weights=hh[ok], minlength=n)
        if np.all(np.mod(hh, 1) == 0):  # whole households stay integers
            cols["households"] = np.rint(cols["households"]).astype(np.int64)
    else:
        cols["buildings"] = np.zeros(n, dtype=np.int64)
        cols["households"] = np.zeros(n, dtype=np.int64)
    if entities is not None:
        e_unit = assign_points(units, entity_geoms, within=within)
        ok = e_unit >= 0
        u = e_unit[ok]
        cols["entities"] = np.bincount(u, minlength=n)
        risk = pd.to_numeric(entities["risk"], errors="coerce").to_numpy()[ok] \
            if "risk" in entities.columns else np.full(ok.sum(), np.nan)
        for r in (1, 2, 3):
            cols[f"entities_risk{r}"] = np.bincount(u[risk == r], minlength=n)
        regime = entities["regime"].to_numpy()[ok]
        for name in REGIMES:
            cols[f"entities_{name}"] = np.bincount(u[regime == name], minlength=n)
        minutes = (entities["visits_per_month"] * entities["minutes_per_visit"]).to_numpy()[ok]
        cols["visit_min"] = np.bincount(u, weights=minutes, minlength=n)
    else:
        for name in ["entities"] + [f"entities_risk{r}" for r in (1, 2, 3)] + \
                [f"entities_{g}" for g in REGIMES]:
            cols[name] = np.zeros(n, dtype=np.int64)
        cols["visit_min"] = np.zeros(n)
    cols["street_length_m"] = street_length(units, **streets)
    cols["patrol_min"] = patrol_minutes(cols["street_length_m"], policy)
    cols["workload_min"] = cols["visit_min"] + cols["patrol_min"]
    return pd.DataFrame(cols), b_unit, b_share, e_unit
