"""Find a font that has Chinese glyphs for matplotlib (or say clearly there is none)."""

from __future__ import annotations

import logging
import warnings
from functools import cache

from matplotlib import font_manager

from gridkit.errors import GridkitWarning

log = logging.getLogger(__name__)

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)
_FILE_HINTS = ("notosanscjk", "notoserifcjk", "wqy", "sourcehansans", "simhei", "msyh", "pingfang")
NO_CJK_MESSAGE = (
    "no font with Chinese glyphs found: Chinese text on posters will show as empty boxes. "
    "Install one (Debian: apt-get install fonts-noto-cjk or fonts-wqy-zenhei) and run again"
)


class _QuietWeights(logging.Filter):
    """Hide matplotlib's "Failed to find font weight" notes for single-weight CJK fonts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage()


logging.getLogger("matplotlib.font_manager").addFilter(_QuietWeights())


def _known() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


@cache
def cjk_family() -> str | None:
    """The name of an installed CJK font family, or ``None``.

    Fonts installed after matplotlib built its font cache are found by
    scanning the system font folders and adding the likely files.
    """
    for family in CJK_FAMILIES:
        if family in _known():
            return family
    for path in font_manager.findSystemFonts():
        if any(h in path.lower().replace("-", "").replace("_", "") for h in _FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError) as exc:  # a broken font file: skip it
                log.debug("cannot add font %s: %s", path, exc)
    for family in CJK_FAMILIES:
        if family in _known():
            return family
    return None


def font_families(*, warn: bool = True) -> list[str]:
    """The font family list for text that may hold Chinese (CJK first when present)."""
    family = cjk_family()
    if family is None:
        if warn:
            warnings.warn(NO_CJK_MESSAGE, GridkitWarning, stacklevel=3)
        return ["DejaVu Sans"]
    return [family, "DejaVu Sans"]
