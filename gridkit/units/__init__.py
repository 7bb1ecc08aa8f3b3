"""Basic units: the jurisdiction cut along roads, barriers and village boundaries.

:mod:`~gridkit.units.build` (``build_units``) nodes the cutting lines, polygonises
them, merges slivers, splits heavy units and counts what each unit holds;
:mod:`~gridkit.units.adjacency` measures the borders units share. Private
helpers (``_noding``, ``_slivers``, ``_split``, ``_assign``, ``_measure``) stay
inside this folder.
"""
