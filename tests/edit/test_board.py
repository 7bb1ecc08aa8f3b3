"""The board's incremental state against a recount, under any sequence of edits (Hypothesis)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkit.editor.board import Board, UnitGraph
from gridkit.errors import PartitionError

SIDE = 8  # an 8 x 8 lattice of units, two villages (left and right half), four grids each


def _board(weights) -> Board:
    n = SIDE * SIDE
    ids = [f"u{i}" for i in range(n)]
    rows, cols = np.divmod(np.arange(n), SIDE)
    village = np.where(cols < SIDE // 2, "A", "B")
    quarter = rows // (SIDE // 2)
    half = (cols % (SIDE // 2)) // (SIDE // 4)
    labels = (village == "B") * 4 + quarter * 2 + half
    names = [f"{v}-{i}" for v in "AB" for i in range(4)]
    ea = [i for i in range(n) if i % SIDE < SIDE - 1] + list(range(n - SIDE))
    eb = [i + 1 for i in range(n) if i % SIDE < SIDE - 1] + [i + SIDE for i in range(n - SIDE)]
    graph = UnitGraph.from_edges(ids, weights, village, np.array(ea), np.array(eb))
    return Board(graph, labels, names, np.full(8, float(np.sum(weights)) / 8), 0.05)


def _recount(board: Board):
    k = len(board.names)
    weights = np.bincount(board.labels, weights=board.graph.weight, minlength=k)
    counts = np.bincount(board.labels, minlength=k)
    g = nx.from_scipy_sparse_array(board.graph.matrix)
    whole = [nx.is_connected(g.subgraph(np.flatnonzero(board.labels == i))) for i in range(k)]
    return weights, counts, np.array(whole)


edits = st.lists(st.one_of(
    st.tuples(st.just("move"), st.lists(st.integers(0, SIDE * SIDE - 1), min_size=1,
                                        max_size=4), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("lock"), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("undo")), st.tuples(st.just("redo")),
), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weights=st.lists(st.integers(0, 50), min_size=SIDE * SIDE, max_size=SIDE * SIDE),
       steps=edits)
def test_state_matches_a_recount_after_any_edits(weights, steps):
    board = _board(np.asarray(weights, dtype=float))
    start = board.labels.copy()
    done = 0
    for step in steps:
        try:
            if step[0] == "move":
                _, units, grid, force = step
                board.move([f"u{u}" for u in units], board.names[grid], force=force)
            elif step[0] == "lock":
                board.lock(board.names[step[1]], step[2])
            elif step[0] == "undo":
                board.undo()
            else:
                board.redo()
        except PartitionError:
            continue
        done += 1
        weights_now, counts, whole = _recount(board)
        assert np.allclose(board.weights, weights_now)
        assert (board.counts == counts).all() and (counts > 0).all()
        assert (board.contiguous == whole).all()
        # nesting: every grid's units lie in its village
        assert (board.graph.nest == board.village[board.labels]).all()
        # neighbouring grids never share a colour
        m = board.graph.matrix.tocoo()
        la, lb = board.labels[m.row], board.labels[m.col]
        assert (board.colours[la[la != lb]] != board.colours[lb[la != lb]]).all()
    while board.history:
        board.undo()
    assert (board.labels == start).all()
    assert not board.locked.any()


def test_unforced_moves_keep_every_grid_whole():
    board = _board(np.ones(SIDE * SIDE))
    # grid A-0 is the 2 x 4 block of columns 0-1, rows 0-3: taking row 1 cuts it in two
    with pytest.raises(PartitionError, match="pieces"):
        board.move(["u8", "u9"], "A-1")
    assert board.contiguous.all() and not board.history
    board.move(["u8", "u9"], "A-1", force=True)
    assert not board.contiguous[board.grid("A-0")] and board.contiguous[board.grid("A-1")]
    with pytest.raises(PartitionError, match="village"):
        board.move(["u3"], "B-0")
