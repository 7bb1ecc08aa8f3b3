"""gridkit's exception classes.

Every error subclasses a built-in (mostly :class:`ValueError`), so a caller's
existing ``except ValueError`` keeps working. Messages name the layer, the
row or column and say what to do.
"""

from __future__ import annotations

__all__ = [
    "GridkitError",
    "LayerError",
    "MissingCRSError",
    "CRSError",
    "GeometryTypeError",
    "EmptyLayerError",
    "MissingColumnError",
    "DuplicateIdError",
    "NullGeometryError",
    "InvalidGeometryError",
    "InvalidValueError",
    "LayerNotFoundError",
    "CheckFailed",
    "GridkitWarning",
    "ExternalResourceError",
    "PartitionError",
    "RoutingError",
    "DuplicateCodeError",
    "CodeOverflowError",
    "VillageCodeError",
    "RoadGraphUnavailable",
    "RequirementsError",
    "SyntheticSizeError",
    "UnitsError",
    "PolicyError",
]


class GridkitError(ValueError):
    """Base class of every gridkit error (a :class:`ValueError`)."""


class LayerError(GridkitError):
    """An input layer cannot be used as it is."""


class LayerNotFoundError(LayerError, FileNotFoundError):
    """The file or the layer inside it does not exist."""


class MissingCRSError(LayerError):
    """A layer carries no coordinate reference system."""


class CRSError(GridkitError):
    """A CRS is unusable for the operation (e.g. not metric)."""


class GeometryTypeError(LayerError, TypeError):
    """A layer holds the wrong kind of geometry (points where polygons are needed...)."""


class EmptyLayerError(LayerError):
    """A layer has no rows."""


class MissingColumnError(LayerError, KeyError):
    """A required column is missing."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateIdError(LayerError):
    """An id or code column holds duplicates."""


class NullGeometryError(LayerError):
    """Rows without geometry where every row needs one."""


class InvalidGeometryError(LayerError):
    """Invalid geometries refused in strict mode."""


class InvalidValueError(LayerError):
    """A column holds values outside the allowed set (risk class, credit grade...)."""


class CheckFailed(GridkitError):
    """The data was read fine but failed a check (CLI exit code 1)."""


class GridkitWarning(UserWarning):
    """Something was repaired or dropped; the message says what and how many."""


class ExternalResourceError(GridkitError):
    """A map element needs a script or stylesheet gridkit has not vendored."""


class PartitionError(GridkitError):
    """The partition cannot be made as asked (too many grids, bad option...)."""


class RoutingError(GridkitError):
    """No tour exists (e.g. a one-way street that cannot be left); a ValueError."""


class DuplicateCodeError(DuplicateIdError):
    """Two grids would carry (or already carry) the same code."""


class CodeOverflowError(GridkitError, OverflowError):
    """A village holds more grids than its sequence field can number."""


class VillageCodeError(InvalidValueError):
    """A village code is missing or does not fit the code scheme."""


class RoadGraphUnavailable(GridkitError):
    """Roads were given as a layer but :func:`gridkit.road_graph` is not available."""


class RequirementsError(GridkitError):
    """The requirements table cannot be used as it is."""


class SyntheticSizeError(GridkitError):
    """A size given to a synthetic generator is out of range (a :class:`ValueError`)."""


class UnitsError(GridkitError):
    """The units cannot be built as asked (bad option, unusable layers)."""


class PolicyError(GridkitError):
    """A policy file or object is incomplete or holds an unknown key or value."""
