"""Inline the vendored Leaflet/jQuery into a folium page (one self-contained file).

folium's page links its libraries from CDNs; :func:`inline_assets` replaces
each ``<script src>`` / ``<link rel=stylesheet>`` whose file it knows with the
copy in ``gridkit/assets/web/`` (see its README: versions, licences) and
refuses any other external script or stylesheet, so a saved map never
depends on a network other than the tile server.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

from gridkit.errors import ExternalResourceError

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "web"

# file-name pattern of the URL -> vendored file (relative to ASSETS)
VENDORED_JS = {
    r"leaflet(-src)?(\.min)?\.js": "leaflet-1.9.3/leaflet.js",
    r"jquery(-3\.7\.1)?(\.min)?\.js": "jquery-3.7.1/jquery.min.js",
}
VENDORED_CSS = {
    r"leaflet(\.min)?\.css": "leaflet-1.9.3/leaflet.css",
}
# the libraries a gridkit map needs (passed to folium instead of its defaults)
LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
JQUERY_JS = "https://code.jquery.com/jquery-3.7.1.min.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"

_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.I)
_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*>", re.I)
_CSS_URL = re.compile(r"url\(\s*[\"']?(?!data:|#)([^\"')]+)[\"']?\s*\)")


@cache
def _read(rel: str) -> str:
    return (ASSETS / rel).read_text(encoding="utf-8")


def _data_uri(path: Path) -> str:
    kind = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}[path.suffix.lower()]
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def _css(rel: str) -> str:
    base = (ASSETS / rel).parent

    def repl(m: re.Match) -> str:
        target = base / m.group(1)
        return f'url("{_data_uri(target)}")' if target.exists() else m.group(0)

    return _CSS_URL.sub(repl, _read(rel))


@cache
def _js(rel: str) -> str:
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", _read(rel))
    return text.replace("</script", "<\\/script")


def _lookup(url: str, table: dict[str, str]) -> str | None:
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    for pattern, rel in table.items():
        if re.fullmatch(pattern, name, flags=re.I):
            return rel
    return None


def inline_assets(html: str) -> str:
    """Replace linked scripts and stylesheets with the vendored copies.

    Raises
    ------
    ExternalResourceError
        For an external script or stylesheet that is not vendored.
    """
    missing: list[str] = []

    def script(m: re.Match) -> str:
        rel = _lookup(m.group(1), VENDORED_JS)
        if rel is None:
            missing.append(m.group(1))
            return m.group(0)
        note = f"/* {rel} (vendored, see gridkit/assets/web/README.md) */"
        return f"<script>{note}\n{_js(rel)}\n</script>"

    def link(m: re.Match) -> str:
        tag = m.group(0)
        if not re.search(r"rel\s*=\s*[\"']?stylesheet", tag, re.I):
            return tag
        rel = _lookup(m.group(1), VENDORED_CSS)
        if rel is None:
            missing.append(m.group(1))
            return tag
        return f"<style>/* {rel} (vendored) */\n{_css(rel)}\n</style>"

    html = _SCRIPT.sub(script, html)
    html = _LINK.sub(link, html)
    if missing:
        raise ExternalResourceError(
            f"the map links {len(missing)} script(s)/stylesheet(s) gridkit has not vendored: "
            f"{missing[:5]}. Remove the element that needs them (e.g. a folium plugin) "
            "or vendor the file into gridkit/assets/web/"
        )
    return html
