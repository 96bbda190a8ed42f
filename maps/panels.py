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
