"""Progress bars for long steps (tqdm), silent when not on a terminal."""

from __future__ import annotations

from tqdm import tqdm  # plain text bar: no ipywidgets needed in notebooks


def progress(iterable=None, *, desc: str, total: int | None = None, unit: str = "it"):
    """Wrap ``iterable`` in a tqdm bar that disables itself off a terminal."""
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=None, leave=False)
