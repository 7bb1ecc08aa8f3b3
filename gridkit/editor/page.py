"""The editor's page: one HTML document with Leaflet and the editor's script inlined.

The page itself holds no data: it reads everything from the JSON API and
writes every value with ``textContent`` (never as HTML), so a unit or grid
named ``<script>`` stays text. Leaflet is the copy vendored in
``gridkit/assets/web`` (see its README), inlined like gridkit's saved maps
inline it (publishing's inliner works on folium pages; this page is ours,
so four placeholders suffice), and its CSS images become data URIs: the page
loads nothing from anywhere but its own server.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

__all__ = ["page_html", "WEB_ASSETS"]

WEB_ASSETS = Path(__file__).resolve().parents[1] / "assets" / "web"
_LEAFLET = WEB_ASSETS / "leaflet-1.9.3"
_EDITOR = WEB_ASSETS / "edit"
_CSS_URL = re.compile(r"url\(\s*[\"']?(?!data:|#)([^\"')]+)[\"']?\s*\)")


def _css_with_data_uris(path: Path) -> str:
    def repl(m: re.Match) -> str:
        target = path.parent / m.group(1)
        if not target.exists():
            return m.group(0)
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:image/png;base64,{data}")'

    return _CSS_URL.sub(repl, path.read_text(encoding="utf-8"))


def _script(path: Path) -> str:
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", path.read_text(encoding="utf-8"))
    return text.replace("</script", "<\\/script")


@cache
def page_html() -> str:
    """The page (the same for every session: the token comes from its URL)."""
    html = (_EDITOR / "editor.html").read_text(encoding="utf-8")
    parts = {
        "/*LEAFLET_CSS*/": _css_with_data_uris(_LEAFLET / "leaflet.css"),
        "/*EDITOR_CSS*/": (_EDITOR / "editor.css").read_text(encoding="utf-8"),
        "/*LEAFLET_JS*/": _script(_LEAFLET / "leaflet.js"),
        "/*EDITOR_JS*/": _script(_EDITOR / "editor.js"),
    }
    for marker, text in parts.items():
        html = html.replace(marker, text)
    return html
