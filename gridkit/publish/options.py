"""What a user chooses between when publishing: tile servers, paper sizes, code schemes.

Plain data, importable without the geo stack (the command line lists these
choices in its ``--help``). :mod:`gridkit.publish.webmap`,
:mod:`gridkit.publish.posters` and :mod:`gridkit.publish.codes` use them and
hand them on under the same names.

>>> sorted(SCHEMES), SCHEMES["gb15"].length
(['cjt349', 'gb15'], 15)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TILES", "PAPER_SIZES", "SCHEMES", "CodeScheme", "OSM_ATTRIBUTION"]

#: Tile servers for the web maps: URL template, attribution, display name.
TILES = {
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attr": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors",
        "name": "OpenStreetMap",
    },
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk={key}",
        "labels": "https://t{s}.tianditu.gov.cn/DataServer?T=cva_w&x={x}&y={y}&l={z}&tk={key}",
        "attr": "&copy; 天地图 Tianditu",
        "name": "天地图 Tianditu",
        "subdomains": "01234567",
    },
    "amap": {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attr": "&copy; 高德地图 AMap (GCJ-02)",
        "name": "高德 AMap",
        "subdomains": "1234",
    },
}

#: The credit OpenStreetMap's licence (ODbL) asks of every map made from its data;
#: posters and maps add it by themselves when a layer comes from OSM.
OSM_ATTRIBUTION = "Map data © OpenStreetMap contributors (ODbL)"

#: Poster paper sizes in inches, portrait.
PAPER_SIZES = {"A4": (8.27, 11.69), "A3": (11.69, 16.54)}


@dataclass(frozen=True)
class CodeScheme:
    """A grid code layout: ``[object class] + village code + sequence``.

    Attributes
    ----------
    name
        Short name used in messages.
    village_digits
        Length of the village/community division code (12 in both standards).
    sequence_digits
        Length of the grid sequence inside the village.
    class_digits
        Length of the object-class prefix (0 when none).
    """

    name: str
    village_digits: int = 12
    sequence_digits: int = 3
    class_digits: int = 0

    @property
    def length(self) -> int:
        return self.class_digits + self.village_digits + self.sequence_digits

    @property
    def max_sequence(self) -> int:
        return 10**self.sequence_digits - 1


SCHEMES: dict[str, CodeScheme] = {
    "gb15": CodeScheme("gb15", 12, 3, 0),
    "cjt349": CodeScheme("cjt349", 12, 2, 6),
}
