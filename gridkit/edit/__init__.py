"""The planner's editor: move units between grids on a map, with gridkit's rules live.

:mod:`~gridkit.edit.board` holds the plan being edited (the grid of every
unit, weights and contiguity kept up to date per touched grid, undo/redo);
:mod:`~gridkit.edit.inputs` prepares the units (ids, weights, villages,
adjacency, the map's GeoJSON); :mod:`~gridkit.edit.rebalance` re-partitions
the unlocked grids; :mod:`~gridkit.edit.output` makes the ``grids`` and
``assignment`` layers of the edited plan; :mod:`~gridkit.edit.session` is the
editing session (one lock, the operations the JSON API offers) and
:func:`~gridkit.edit.session.edit` its notebook face; :mod:`~gridkit.edit.server`
serves the page (:mod:`~gridkit.edit.page`) and the JSON API on 127.0.0.1.
"""
