"""Reading vector files (GeoJSON, GeoPackage, zipped shapefiles, CSV) into EPSG:4326.

See :func:`geogrid.io.read.read_layers`.
"""
