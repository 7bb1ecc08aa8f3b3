"""GPX 1.1 export for phones: routes as tracks, stops as waypoints (WGS84)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import shapely

from gridkit.io.atomic import staged

__all__ = ["write_gpx"]

_NS = "http://www.topografix.com/GPX/1/1"


def write_gpx(
    path: str | os.PathLike,
    *,
    tracks: gpd.GeoDataFrame | None = None,
    waypoints: gpd.GeoDataFrame | None = None,
    name_column: str = "name",
    description_column: str | None = None,
) -> Path:
    """Write lines as GPX tracks and points as GPX waypoints.

    Parameters
    ----------
    path
        The ``.gpx`` file (replaced atomically; inside a ``staged()`` block,
        when the block ends).
    tracks
        (Multi)LineStrings; one ``<trk>`` each, named by ``name_column``.
    waypoints
        Points; one ``<wpt>`` each.
    name_column, description_column
        Columns for ``<name>`` and ``<desc>`` (when present).

    Examples
    --------
    >>> import geopandas as gpd, tempfile, os
    >>> from shapely.geometry import LineString
    >>> line = LineString([(24.9, 60.1), (24.95, 60.17)])
    >>> t = gpd.GeoDataFrame({"name": ["day 1"]}, geometry=[line], crs=4326)
    >>> p = write_gpx(os.path.join(tempfile.mkdtemp(), "r.gpx"), tracks=t)
    >>> "<trkpt" in p.read_text()
    True
    """
    ET.register_namespace("", _NS)
    root = ET.Element(f"{{{_NS}}}gpx", version="1.1", creator="gridkit")

    def text(parent, tag, value):
        if value is not None and str(value) != "nan":
            ET.SubElement(parent, f"{{{_NS}}}{tag}").text = str(value)

    if waypoints is not None and len(waypoints):
        w = waypoints.to_crs(4326)
        for _, row in w.iterrows():
            g = row.geometry
            if g is None or g.is_empty:
                continue
            el = ET.SubElement(root, f"{{{_NS}}}wpt", lat=f"{g.y:.7f}", lon=f"{g.x:.7f}")
            text(el, "name", row.get(name_column))
            if description_column:
                text(el, "desc", row.get(description_column))
    if tracks is not None and len(tracks):
        t = tracks.to_crs(4326)
        for _, row in t.iterrows():
            g = row.geometry
            if g is None or g.is_empty:
                continue
            trk = ET.SubElement(root, f"{{{_NS}}}trk")
            text(trk, "name", row.get(name_column))
            if description_column:
                text(trk, "desc", row.get(description_column))
            for part in shapely.get_parts(g):
                seg = ET.SubElement(trk, f"{{{_NS}}}trkseg")
                for x, y in shapely.get_coordinates(part):
                    ET.SubElement(seg, f"{{{_NS}}}trkpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
    path = Path(path)
    with staged() as out:
        ET.ElementTree(root).write(out.path(path), encoding="utf-8", xml_declaration=True)
    return path
