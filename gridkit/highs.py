"""HiGHS (through ``highspy``), started quietly, for every integer programme here.

The partition's exact polish, the rural postman and facility siting all solve with
HiGHS. Its first instance prints a banner on stdout before any option can switch
output off; :func:`new_highs` sends that one start to ``/dev/null`` and returns a
solver with its output off.
"""

from __future__ import annotations

import os
import sys

__all__ = ["new_highs", "silence_banner"]

_BANNER_DONE = False


def silence_banner() -> None:
    """Start HiGHS once with stdout sent to ``/dev/null`` (its banner), once per process."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    _BANNER_DONE = True
    import highspy

    try:
        sys.stdout.flush()
        saved = os.dup(1)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
    except OSError:  # no real stdout (e.g. some notebooks): leave it
        pass


def new_highs():
    """A new ``highspy.Highs`` with its output off."""
    import highspy

    silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h
