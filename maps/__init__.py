"""Web map pages of geogrid (folium), built from plain GeoJSON values.

Each module turns data into a ``folium.Map`` and knows nothing of HTTP or the database: the API
calls the core for the data, then one ``build_*_map`` function here. Every JavaScript, CSS and font
file a page needs is served by the app itself from ``maps/static/`` (see :mod:`maps.assets`), so the
pages work on a district intranet with no internet access.
"""
