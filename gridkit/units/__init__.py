"""Basic units: the jurisdiction cut along roads, barriers and village boundaries.

:mod:`~gridkit.units.build` (``build_units``) nodes the cutting lines
(:mod:`~gridkit.units.noding`), polygonises them, merges slivers, splits heavy
units and counts what each unit holds (:mod:`~gridkit.units.assign`);
:mod:`~gridkit.units.plan` decides which lines cut (also used per town by
:mod:`gridkit.scale`); :mod:`~gridkit.units.adjacency` measures the borders
units share. Private helpers (``_slivers``, ``_split``, ``_measure``) stay
inside this folder.
"""
