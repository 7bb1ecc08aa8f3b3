"""The two lengths every coverage check measures against (plain numbers, no geo stack).

>>> RESOLUTION < DEFAULT_TOLERANCE
True
"""

__all__ = ["DEFAULT_TOLERANCE", "RESOLUTION"]

#: Default sliver tolerance in metres: an overlap or gap narrower than 1 m is
#: a digitising artefact, not a strip of land somebody patrols.
DEFAULT_TOLERANCE = 1.0

#: Features narrower than this (metres) have no area worth a person's time:
#: a gap or overlap this thin is the trace of edges whose vertices do not
#: match, and is reported as ``edge_mismatch`` instead.
RESOLUTION = 1e-3
