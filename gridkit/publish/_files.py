"""Output file names: safe on every file system and never shared."""

from __future__ import annotations

import re
import warnings

from gridkit.errors import GridkitWarning


def safe_stem(text: str, default: str = "grid") -> str:
    """``text`` with every run of characters unsafe in a file name replaced by ``_``.

    >>> safe_stem("村/社区 01"), safe_stem("..")
    ('村_社区_01', 'grid')
    """
    return re.sub(r"[^\w.-]+", "_", str(text), flags=re.UNICODE).strip("._") or default


def unique_stems(labels, *, reserved=(), what: str = "grid") -> list[str]:
    """A distinct file stem for each label, in order.

    Labels are made safe with :func:`safe_stem`; a stem already taken (by an
    earlier label or one of ``reserved``, ignoring case, as on Windows and
    macOS) gets ``-2``, ``-3``... The renamed ones are listed in a
    :class:`~gridkit.errors.GridkitWarning`.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     unique_stems(["a", "A", "a b", "a_b"], reserved=["jurisdiction"])
    ['a', 'A-2', 'a_b', 'a_b-2']
    """
    taken = {str(r).casefold() for r in reserved}
    stems, renamed = [], []
    for label in labels:
        stem = base = safe_stem(label)
        n = 1
        while stem.casefold() in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem.casefold())
        stems.append(stem)
        if stem != base:
            renamed.append(f"{base!r} -> {stem!r}")
    if renamed:
        warnings.warn(
            f"{len(renamed)} {what}(s) share a file name with another once cleaned "
            f"(labels equal ignoring case, or differing only in characters a file name "
            f"cannot hold); written as: {', '.join(renamed[:10])}"
            + (f" and {len(renamed) - 10} more" if len(renamed) > 10 else ""),
            GridkitWarning,
            stacklevel=3,
        )
    return stems

