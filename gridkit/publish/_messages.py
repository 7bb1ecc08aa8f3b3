"""Values for messages: Python's own, so that a warning never reads ``np.int64(114)``."""

from __future__ import annotations

import numpy as np


def plain(value):
    """A numpy scalar as the Python value it holds; anything else as it is.

    >>> plain(np.int64(114)), plain(np.str_("a")), plain("b")
    (114, 'a', 'b')
    """
    return value.item() if isinstance(value, np.generic) else value


def plain_list(values, limit: int = 5) -> list:
    """The first ``limit`` values, each :func:`plain`.

    >>> plain_list(np.array([3, 4], dtype="int64"))
    [3, 4]
    """
    return [plain(v) for v in list(values)[:limit]]
