"""An editing session: the operations of the JSON API, and :func:`edit` for notebooks.

:class:`Session` holds one :class:`~gridkit.editor.inputs.Plan` behind a lock
and offers exactly what the API offers (state, move, lock, rebalance, undo,
redo, save); the server calls these methods, and so does :class:`Editor`,
the object :func:`edit` returns, so a script moves units the same way the
page does.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np

from gridkit.editor.board import PALETTE
from gridkit.editor.inputs import Plan, context_geojson, grid_outlines, prepare, units_geojson
from gridkit.editor.output import issues, plan_result, save_plan
from gridkit.editor.rebalance import rebalance
from gridkit.errors import InvalidValueError
from gridkit.grids.partition import Partition, partition

__all__ = ["Session", "Editor", "edit"]


class Session:
    """One plan being edited; every method is safe to call from several threads."""

    def __init__(self, plan: Plan, output: str | os.PathLike | None = None) -> None:
        self.plan = plan
        self.output = None if output is None else Path(output)
        self.start = np.asarray(plan.board.names, dtype=object)[plan.board.labels]
        self._lock = threading.Lock()
        self._units_json: dict | None = None
        self._context_json: dict | None = None

    # --- reading ------------------------------------------------------------

    def state(self, changed: np.ndarray | None = None, **extra) -> dict:
        """``{"grids", "tolerance", "valid", "issues", ...}`` (see the README)."""
        with self._lock:
            return self._state(changed, **extra)

    def _state(self, changed=None, **extra) -> dict:
        board = self.plan.board
        live = [g for g in np.argsort(board.names, kind="stable") if board.counts[g] > 0]
        grids = []
        for g in live:
            t = float(board.targets[g])
            w = float(board.weights[g])
            grids.append({"grid_id": board.names[g], "village": str(board.village[g]),
                          "weight": w, "target": t, "deviation": w / t - 1.0 if t > 0 else 0.0,
                          "units": int(board.counts[g]), "contiguous": bool(board.contiguous[g]),
                          "locked": bool(board.locked[g]),
                          "colour": _colour(int(board.colours[g]))})
        found = issues(self.plan)
        out = {"grids": grids, "tolerance": board.tolerance,
               "valid": not any(i["kind"] == "contiguity" for i in found), "issues": found,
               "version": board.version, "can_undo": bool(board.history),
               "can_redo": bool(board.future)}
        if changed is not None:
            ids, names = board.graph.ids, board.names
            out["changes"] = [[_plain(ids[i]), names[board.labels[i]]] for i in changed]
            if len(changed):  # the new outlines of the grids that changed
                out["outlines"] = grid_outlines(self.plan, board.last_touched)
        out.update(extra)
        return out

    def assignment(self) -> dict:
        """The grid id of every unit, by unit position (as in :meth:`units`)."""
        with self._lock:
            board = self.plan.board
            return {"grid_ids": [board.names[g] for g in board.labels]}

    def units(self) -> dict:
        """The units as GeoJSON (longitude/latitude), made once."""
        with self._lock:
            if self._units_json is None:
                self._units_json = units_geojson(self.plan)
            return self._units_json

    def outlines(self) -> dict:
        """Every grid's outline (GeoJSON lines); a change's state carries the touched ones."""
        with self._lock:
            board = self.plan.board
            return grid_outlines(self.plan, np.flatnonzero(board.counts > 0))

    def context(self) -> dict:
        with self._lock:
            if self._context_json is None:
                self._context_json = context_geojson(self.plan)
            return self._context_json

    # --- changing -----------------------------------------------------------

    def move(self, units, grid_id, *, force: bool = False) -> dict:
        with self._lock:
            return self._state(self.plan.board.move(units, grid_id, force=bool(force)))

    def lock(self, grid_id, locked: bool = True) -> dict:
        with self._lock:
            self.plan.board.lock(grid_id, bool(locked))
            return self._state(np.empty(0, dtype=int))

    def rebalance(self) -> dict:
        with self._lock:
            changed, messages = rebalance(self.plan)
            return self._state(changed, warnings=messages)

    def undo(self) -> dict:
        with self._lock:
            return self._state(self.plan.board.undo())

    def redo(self) -> dict:
        with self._lock:
            return self._state(self.plan.board.redo())

    def save(self, path: str | os.PathLike | None = None) -> dict:
        target = path or self.output
        if target is None:
            raise InvalidValueError("no output file: give save(path) or -o OUT.gpkg")
        with self._lock:
            written = save_plan(self.plan, target, self.start)
            return self._state(None, path=str(written))

    def result(self) -> Partition:
        with self._lock:
            return plan_result(self.plan, self.start)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class Editor:
    """A running editor: the page at :attr:`url`, and the API as methods.

    Returned by :func:`edit`. ``move``, ``lock``, ``rebalance``, ``undo``,
    ``redo`` and ``save`` do what the page's buttons (and the JSON API) do
    and return the new state; :meth:`result` gives the edited
    :class:`gridkit.Partition`; :meth:`stop` ends the server.
    """

    def __init__(self, session: Session, server) -> None:
        self.session = session
        self._server = server
        self.url = server.url

    def state(self) -> dict:
        return self.session.state()

    def move(self, units, grid_id, *, force: bool = False) -> dict:
        return self.session.move(units, grid_id, force=force)

    def lock(self, grid_id, locked: bool = True) -> dict:
        return self.session.lock(grid_id, locked)

    def rebalance(self) -> dict:
        return self.session.rebalance()

    def undo(self) -> dict:
        return self.session.undo()

    def redo(self) -> dict:
        return self.session.redo()

    def save(self, path: str | os.PathLike | None = None) -> Path:
        return Path(self.session.save(path)["path"])

    def result(self) -> Partition:
        return self.session.result()

    def stop(self) -> None:
        self._server.stop()

    def wait(self) -> None:
        """Block until :meth:`stop` (or an interrupt)."""
        self._server.wait()

    def show(self, *, width: str = "100%", height: int = 640):
        """Show the page in a notebook's output cell (an IFrame served by the local server)."""
        from IPython.display import IFrame, display

        display(IFrame(self.url, width=width, height=height))

    def __repr__(self) -> str:
        s = self.session.state()
        return (f"<gridkit editor: {len(s['grids'])} grids, {len(s['issues'])} issue(s), "
                f"serving {self._server.base_url}>")


def edit(plan: Partition | gpd.GeoDataFrame, weight=None, *, grid_column: str | None = None,
         k: int | None = None, target: float | None = None, id_column: str = "unit_id",
         nest_by: str | None = "village_code", tolerance: float | None = None,
         adjacency=None, roads: gpd.GeoDataFrame | None = None,
         buildings: gpd.GeoDataFrame | None = None, road_weight=None,
         output: str | os.PathLike | None = None, port: int = 0,
         show: bool = True) -> Editor:
    """Edit a plan by hand on a map, in a notebook or from a script.

    Parameters
    ----------
    plan
        A :class:`gridkit.Partition` (its grids and targets are the start) or
        units: with ``grid_column`` they start from that column's grid ids,
        else :func:`gridkit.partition` runs first (with ``k`` or ``target``).
    weight
        What the grids balance, as for :func:`gridkit.partition` (required).
    grid_column
        Column of ``plan`` (units) holding a grid id per unit.
    k, target
        For the first partition when ``plan`` is units without ``grid_column``.
    id_column, nest_by, tolerance, adjacency, road_weight
        As for :func:`gridkit.partition` (``tolerance`` defaults to the
        partition's, else 0.02); ``roads`` (with ``road_weight``) and
        ``buildings`` are also drawn on the map.
    output
        File :meth:`Editor.save` writes when called without a path.
    port
        Local port (0: any free one). The server listens on 127.0.0.1 only.
    show
        Display the page in the notebook's output cell (when IPython runs).

    Returns
    -------
    Editor
        ``ed.move(units, grid_id)``, ``ed.lock(grid_id)``, ``ed.rebalance()``,
        ``ed.undo()``, ``ed.save(path)``, ``ed.result()``, ``ed.stop()``.
    """
    from gridkit.editor.server import EditServer

    if weight is None:
        raise InvalidValueError("edit: give weight=, the column (or weighted sum) the grids "
                                "balance")
    targets = None
    if isinstance(plan, Partition):
        units = plan.assignment.drop(columns=["moved"], errors="ignore")
        grid_ids = units.pop("grid_id").to_numpy()
        targets = dict(zip(plan.grids["grid_id"].astype(str), plan.grids["target"],
                           strict=True))
        tolerance = plan.report.tolerance if tolerance is None else tolerance
    elif grid_column is not None:
        if grid_column not in plan.columns:
            raise InvalidValueError(f"edit: units have no column {grid_column!r} of grid ids")
        units = plan.drop(columns=[grid_column])
        grid_ids = plan[grid_column].to_numpy()
    else:
        first = partition(plan, weight, k=k, target=target, nest_by=nest_by,
                          tolerance=0.02 if tolerance is None else tolerance,
                          adjacency=adjacency, road_weight=road_weight, id_column=id_column)
        return edit(first, weight, id_column=id_column, nest_by=nest_by, adjacency=adjacency,
                    roads=roads, buildings=buildings, road_weight=road_weight, output=output,
                    port=port, show=show)
    prepared = prepare(units, weight, grid_ids, id_column=id_column, nest_by=nest_by,
                       tolerance=0.02 if tolerance is None else tolerance, targets=targets,
                       adjacency=adjacency, roads=roads, buildings=buildings,
                       road_weight=road_weight)
    server = EditServer(Session(prepared, output), port=port)
    server.start()
    editor = Editor(server.session, server)
    if show and _in_notebook():
        editor.show()
    return editor


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
