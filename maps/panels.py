"""Pieces shared by the query panels of map pages (a form docked in a Leaflet control)."""

from __future__ import annotations

#: Jinja macro placing the element's ``<form>`` in a top-right Leaflet control, so that
#: clicks and scrolls on the form do not pan or zoom the map.
PANEL_SCRIPT = """
{% macro script(this, kwargs) %}
(function (map) {
  var panel = L.control({position: "topright"});
  panel.onAdd = function () {
    var el = document.getElementById("{{ this.get_name() }}");
    L.DomEvent.disableClickPropagation(el);
    L.DomEvent.disableScrollPropagation(el);
    return el;
  };
  panel.addTo(map);
})({{ this._parent.get_name() }});
{% endmacro %}
"""


def query_panel_css(*, width_px: int = 250, field_px: int = 150) -> str:
    """CSS rules of a query panel (``.gg-query``): the box, its heading, labelled fields, the
    button, the figures table, a line of text and the notices list, in one look for every
    map page."""
    return f"""
.gg-query {{background: rgba(255, 255, 255, .96); padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, .4); font-size: 13px; line-height: 20px;
  width: {width_px}px;}}
.gg-query h2 {{margin: 0 0 6px; font-size: 14px; font-weight: 600; color: #0d3c74;
  border-bottom: 1px solid #ddd; padding-bottom: 3px;}}
.gg-query label {{display: flex; justify-content: space-between; align-items: center;
  margin: 0 0 5px; gap: 6px;}}
.gg-query input, .gg-query select {{width: {field_px}px; font-size: 13px; padding: 1px 3px;}}
.gg-query button {{width: 100%; margin-top: 2px; background: #1565c0; color: #fff; border: 0;
  border-radius: 3px; padding: 3px 0; font-size: 13px; letter-spacing: 4px; cursor: pointer;}}
.gg-query table {{width: 100%; margin: 6px 0 0; padding-top: 4px; border-top: 1px solid #ddd;
  border-collapse: collapse;}}
.gg-query th {{text-align: left; font-weight: 400; color: #546e7a; padding: 0 8px 0 0;
  white-space: nowrap; vertical-align: top;}}
.gg-query td {{text-align: right; font-weight: 600; color: #0d3c74; padding: 0;}}
.gg-query p {{margin: 6px 0 0; color: #0d3c74; font-weight: 600;}}
.gg-query ul {{margin: 6px 0 0; padding: 6px 0 0 16px; border-top: 1px solid #ddd;
  color: #5d4037;}}
"""


PANEL_TAIL = (
    """<table>
{%- for label, value in this.figures %}
<tr><th>{{ label|e }}</th><td>{{ value|e }}</td></tr>
{%- endfor %}
</table>
{%- if this.notices %}
<ul>{% for notice in this.notices %}<li>{{ notice|e }}</li>{% endfor %}</ul>
{%- endif %}
</form>
{% endmacro %}
"""
    + PANEL_SCRIPT
)
"""The end of a query panel's template: its figures table (``this.figures``: label, value),
its notices (``this.notices``), the closed form and the panel's script."""
