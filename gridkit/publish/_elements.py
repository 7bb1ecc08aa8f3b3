"""folium elements for gridkit maps: popups, labels, legend, title.

Every text that comes from the data reaches the page as a JSON string
(Jinja's ``tojson``, which also escapes ``<``, ``>`` and ``&``) and is put
into the page with ``textContent``, never as HTML: a grid or a person named
``<script>alert(1)</script>`` shows as that text and never runs.
"""

from __future__ import annotations

from branca.element import Element, MacroElement
from folium.template import Template

CJK_FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", '
    '"Microsoft YaHei", "PingFang SC", sans-serif'
)

HEADER_STYLE = f"""
<style>
.gridkit-label span {{
    display: inline-block; transform: translate(-50%, -50%);
    font: bold 12px {CJK_FONTS}; color: #222; white-space: nowrap;
    text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff;
    pointer-events: none;
}}
.gridkit-popup {{ font: 12px {CJK_FONTS}; border-collapse: collapse; }}
.gridkit-popup th {{ text-align: left; padding: 1px 8px 1px 0; color: #555; font-weight: normal; }}
.gridkit-popup td {{ padding: 1px 0; font-weight: bold; white-space: pre-line; }}
.gridkit-legend, .gridkit-title {{
    background: rgba(255,255,255,0.92); padding: 6px 10px; border-radius: 4px;
    box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px {CJK_FONTS}; line-height: 18px;
}}
.gridkit-title {{ font-size: 15px; font-weight: bold; }}
.gridkit-legend i {{
    display: inline-block; width: 16px; height: 12px; margin-right: 6px; vertical-align: middle;
    border: 1px solid #555;
}}
.gridkit-legend i.line {{ height: 0; border: none; border-top: 3px solid; }}
.gridkit-legend i.dash {{ height: 0; border: none; border-top: 3px dashed; }}
.gridkit-legend i.point {{ width: 10px; height: 10px; border-radius: 50%; margin: 0 9px 0 3px; }}
.gridkit-legend-note {{
    margin-top: 4px; font-size: 10px; line-height: 14px; color: #555; max-width: 300px;
    white-space: pre-line;
}}
</style>
"""

HEADER_SCRIPT = """
<script>
/* gridkit: build a popup table from [label, value] pairs as text, never as HTML */
function gridkitTable(rows) {
    var table = document.createElement('table');
    table.className = 'gridkit-popup';
    (rows || []).forEach(function (row) {
        var tr = table.insertRow();
        var th = document.createElement('th');
        th.textContent = row[0];
        tr.appendChild(th);
        var td = tr.insertCell();
        td.textContent = row[1];
    });
    return table;
}
</script>
"""


def add_header(m) -> None:
    """Add gridkit's styles and the popup helper to the page (once)."""
    root = m.get_root()
    root.header.add_child(Element(HEADER_STYLE), name="gridkit_style")
    root.header.add_child(Element(HEADER_SCRIPT), name="gridkit_script")


class DetailsPopup(MacroElement):
    """Popups on a GeoJson layer from the ``[label, value]`` list in property ``key``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup(function (layer) {
            return gridkitTable(layer.feature.properties[{{ this.key|tojson }}]);
        }, {maxWidth: 420});
        {% endmacro %}
        """
    )

    def __init__(self, key: str = "_popup"):
        super().__init__()
        self._name = "DetailsPopup"
        self.key = key


class DetailsTooltip(MacroElement):
    """Tooltips on a GeoJson layer from the ``[label, value]`` list in property ``key``.

    Unlike folium's ``GeoJsonTooltip`` and ``Tooltip`` (which put the values
    into the page as HTML), the table is built with ``textContent``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip(function (layer) {
            return gridkitTable(layer.feature.properties[{{ this.key|tojson }}]);
        }, {sticky: true});
        {% endmacro %}
        """
    )

    def __init__(self, key: str = "_tip"):
        super().__init__()
        self._name = "DetailsTooltip"
        self.key = key


class Labels(MacroElement):
    """Text labels at points: ``items`` is a list of ``[lat, lon, text]``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var items = {{ this.items|tojson }};
            items.forEach(function (it) {
                var span = document.createElement('span');
                span.textContent = it[2];
                L.marker([it[0], it[1]], {
                    icon: L.divIcon({className: 'gridkit-label', html: span, iconSize: null}),
                    interactive: false, keyboard: false
                }).addTo({{ this._parent.get_name() }});
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, items: list[list]):
        super().__init__()
        self._name = "Labels"
        self.items = items


class Legend(MacroElement):
    """A legend control: ``items`` is a list of ``[kind, colour, text, layer]``.

    ``kind`` is fill, line, dash (a dashed line) or point; ``note`` small print
    under the entries (lines split at newlines); ``layer`` the JavaScript name of the map
    layer the entry stands for (``layer.get_name()``) or ``None``: an entry is
    shown while its layer is on the map, so the legend follows the layer list.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var legend = L.control({position: {{ this.position|tojson }}});
            var tied = [];
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'gridkit-legend');
                var title = document.createElement('b');
                title.textContent = {{ this.title|tojson }};
                div.appendChild(title);
                {{ this.items|tojson }}.forEach(function (it) {
                    var row = document.createElement('div');
                    var swatch = document.createElement('i');
                    swatch.className = it[0];
                    if (it[0] === 'line' || it[0] === 'dash') {
                        swatch.style.borderTopColor = it[1];
                    } else { swatch.style.background = it[1]; }
                    row.appendChild(swatch);
                    row.appendChild(document.createTextNode(it[2]));
                    div.appendChild(row);
                    if (it[3] && window[it[3]]) { tied.push([row, window[it[3]]]); }
                });
                var note = {{ this.note|tojson }};
                if (note) {
                    var small = document.createElement('div');
                    small.className = 'gridkit-legend-note';
                    small.textContent = note;
                    div.appendChild(small);
                }
                return div;
            };
            legend.addTo(map);
            function refresh() {
                tied.forEach(function (t) {
                    t[0].style.display = map.hasLayer(t[1]) ? '' : 'none';
                });
            }
            map.on('overlayadd overlayremove', refresh);
            map.whenReady(refresh);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        items: list[list],
        *,
        title: str = "图例 Legend",
        position: str = "bottomright",
        note: str = "",
    ):
        super().__init__()
        self._name = "Legend"
        self.items = [list(it) + [None] * (4 - len(it)) for it in items]
        self.title = title
        self.position = position
        self.note = note


class Title(MacroElement):
    """A title box on the map (text only)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var box = L.control({position: 'topleft'});
            box.onAdd = function () {
                var div = L.DomUtil.create('div', 'gridkit-title');
                div.textContent = {{ this.text|tojson }};
                return div;
            };
            box.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "Title"
        self.text = text
