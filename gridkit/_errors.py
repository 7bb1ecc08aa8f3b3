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


__all__ += ["GridkitWarning"]
