"""The edited plan as `gridkit partition` writes it: the layers ``grids`` and ``assignment``.

:func:`plan_result` builds a :class:`gridkit.Partition` from the board: one
dissolved polygon per grid with the same columns as :func:`gridkit.partition`
(``grid_id``, ``village_code``, ``weight``, ``target``, ``deviation``,
``units``, ``area_m2``, ``perimeter_m``, ``polsby_popper``, ``inertia_index``,
``contiguous``), the units with their ``grid_id`` and a report measured the
same way. :func:`save_plan` writes both layers atomically.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.editor.inputs import Plan
from gridkit.grids.partition import Partition, PartitionReport
from gridkit.grids.shape import inertia_values, polsby_popper_values
from gridkit.io.atomic import staged
from gridkit.io.files import write_layers

__all__ = ["plan_result", "save_plan", "issues"]


def _dissolve(geoms: np.ndarray) -> shapely.Geometry:
    g = shapely.coverage_union_all(geoms)
    return g if shapely.is_valid(g) else shapely.union_all(geoms)


def grids_layer(plan: Plan) -> gpd.GeoDataFrame:
    """One polygon per (non-empty) grid, sorted by ``grid_id``, in the units' CRS."""
    board = plan.board
    live = np.flatnonzero(board.counts > 0)
    geoms = np.asarray(plan.metric.geometry.values)
    dissolved = np.array([_dissolve(geoms[board.labels == g]) for g in live], dtype=object)
    target = board.targets[live]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(target > 0, board.weights[live] / target - 1.0, 0.0)
    columns = {"grid_id": np.array([board.names[g] for g in live], dtype=object)}
    if plan.nest_by:
        columns["village_code"] = board.village[live]
        if plan.nest_by != "village_code":
            columns[plan.nest_by] = board.village[live]
    elif "village_code" in plan.metric.columns:
        first = plan.metric["village_code"].astype(str).groupby(board.labels).first()
        columns["village_code"] = first.reindex(live).to_numpy()
    columns.update(weight=board.weights[live], target=target, deviation=deviation,
                   units=board.counts[live], area_m2=shapely.area(dissolved),
                   perimeter_m=shapely.length(dissolved),
                   polsby_popper=polsby_popper_values(dissolved),
                   inertia_index=inertia_values(dissolved), contiguous=board.contiguous[live])
    grids = gpd.GeoDataFrame(columns, geometry=dissolved, crs=plan.metric.crs)
    grids = grids.sort_values("grid_id", kind="stable").reset_index(drop=True)
    return grids.to_crs(plan.units.crs) if grids.crs != plan.units.crs else grids


def assignment_layer(plan: Plan, start: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The units (all their columns) with ``grid_id``; ``moved`` against ``start`` ids."""
    board = plan.board
    out = plan.units.copy()
    out["grid_id"] = np.asarray(board.names, dtype=object)[board.labels]
    if start is not None:
        out["moved"] = out["grid_id"].to_numpy() != start
    return out


def issues(plan: Plan) -> list[dict]:
    """What the plan breaks: grids in pieces (a rule) and grids off their target (balance)."""
    board = plan.board
    out = []
    for g in np.flatnonzero((board.counts > 0) & ~board.contiguous):
        out.append({"grid_id": board.names[g], "kind": "contiguity",
                    "message": f"grid {board.names[g]} is in several pieces"})
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(board.targets > 0, board.weights / board.targets - 1.0, 0.0)
    for g in np.flatnonzero((board.counts > 0) & (np.abs(dev) > board.tolerance + 1e-9)):
        out.append({"grid_id": board.names[g], "kind": "balance",
                    "message": f"grid {board.names[g]} is {dev[g]:+.1%} off its target "
                               f"(tolerance ±{board.tolerance:.0%})"})
    return out


def _report(plan: Plan, grids: gpd.GeoDataFrame, moved: int | None, started: float):
    board = plan.board
    gw = grids["weight"].to_numpy(dtype=float)
    mean = float(gw.mean()) if len(gw) else 0.0
    dev = grids["deviation"].to_numpy(dtype=float)
    unit_target = board.targets[board.labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(unit_target > 0, board.graph.weight / unit_target, 0.0)
    found = issues(plan)
    village = (grids["village_code"] if "village_code" in grids.columns
               else pd.Series("", index=grids.index))
    villages = pd.DataFrame({"village": village.to_numpy(), "weight": gw, "grids": 1,
                             "units": grids["units"].to_numpy()}).groupby("village").sum()
    villages["mean"] = villages["weight"] / villages["grids"]
    villages["vs_overall"] = villages["mean"] / mean - 1 if mean > 0 else 0.0
    n = len(board.labels)
    return PartitionReport(
        k=len(grids), mean=mean, tolerance=board.tolerance,
        max_over_mean=float(gw.max() / mean) if mean > 0 else float("nan"),
        min_over_mean=float(gw.min() / mean) if mean > 0 else float("nan"),
        max_deviation=float(np.abs(dev).max(initial=0.0)),
        bound=float(max(0.0, ratio.max(initial=0.0) - 1.0)),
        within_tolerance=not any(i["kind"] == "balance" for i in found),
        moved=moved, kept=None if moved is None else n - moved,
        road_share=_road_share(plan), mean_polsby_popper=float(grids["polsby_popper"].mean()),
        villages=villages.reset_index(), warnings=[i["message"] for i in found],
        seconds=time.perf_counter() - started)


def _road_share(plan: Plan) -> float:
    adj = plan.adjacency
    if "road_m" not in adj.columns or "shared_m" not in adj.columns:
        return float("nan")
    index = pd.Index(plan.board.graph.ids)
    la = plan.board.labels[index.get_indexer(adj["unit_a"])]
    lb = plan.board.labels[index.get_indexer(adj["unit_b"])]
    cross = la != lb
    shared = adj["shared_m"].to_numpy(dtype=float)[cross].sum()
    return float(adj["road_m"].to_numpy(dtype=float)[cross].sum() / shared) if shared > 0 \
        else float("nan")


def plan_result(plan: Plan, start: np.ndarray | None = None) -> Partition:
    """The edited plan as a :class:`gridkit.Partition` (``moved`` counted against ``start``)."""
    started = time.perf_counter()
    grids = grids_layer(plan)
    assignment = assignment_layer(plan, start)
    moved = None if start is None else int(assignment["moved"].sum())
    return Partition(grids=grids, assignment=assignment,
                     report=_report(plan, grids, moved, started))


def save_plan(plan: Plan, path: str | os.PathLike, start: np.ndarray | None = None) -> Path:
    """Write the layers ``grids`` and ``assignment`` into ``path``, atomically."""
    result = plan_result(plan, start)
    with staged():
        written = write_layers({"grids": result.grids, "assignment": result.assignment}, path)
    return Path(written)
