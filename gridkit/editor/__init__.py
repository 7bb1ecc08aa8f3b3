"""The planner's editor: move units between grids on a map, with gridkit's rules live.

:mod:`~gridkit.editor.board` holds the plan being edited (the grid of every
unit, weights and contiguity kept up to date per touched grid, undo/redo);
:mod:`~gridkit.editor.inputs` prepares the units (ids, weights, villages,
adjacency, the map's GeoJSON); :mod:`~gridkit.editor.rebalance` re-partitions
the unlocked grids; :mod:`~gridkit.editor.output` makes the ``grids`` and
``assignment`` layers of the edited plan; :mod:`~gridkit.editor.session` is the
editing session (one lock, the operations the JSON API offers) and
:func:`~gridkit.editor.session.edit` its notebook face; :mod:`~gridkit.editor.server`
serves the page (:mod:`~gridkit.editor.page`) and the JSON API on 127.0.0.1.

(The folder is ``editor``, not ``edit``: importing a subpackage binds its name
on the package, so a ``gridkit.edit`` would replace the function ``gk.edit``.)
"""
