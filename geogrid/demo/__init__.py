"""A synthetic district (呈贡区 around 102.85°E 24.98°N) to demo, test and benchmark geogrid.

:func:`build_district` draws it without a database; :func:`load_demo` writes it to PostGIS.
"""

from geogrid.demo.district import SCALES, DemoDistrict, DemoSpec, build_district
from geogrid.demo.load import load_demo

__all__ = ["SCALES", "DemoDistrict", "DemoSpec", "build_district", "load_demo"]
