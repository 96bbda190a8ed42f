"""A synthetic district (呈贡区 around 102.85°E 24.98°N) to demo, test and benchmark geogrid.

:func:`build_district` draws it without a database; :func:`load_demo` writes it to PostGIS.
:func:`load_demo_satellite` adds a month of satellite patches with their imagery.
"""

from geogrid.demo.cases import build_cases
from geogrid.demo.components import build_components
from geogrid.demo.district import SCALES, DemoDistrict, DemoSpec, build_district
from geogrid.demo.load import load_demo, load_demo_cases, load_demo_components, load_demo_patrol
from geogrid.demo.patrol import DemoPatrol, build_patrol
from geogrid.demo.satellite import DemoSatellite, load_demo_satellite, plan_satellite

#: Cases the demo generates per scale (DOMAIN.md §8: 2,000,000 at city scale, 12 months).
CASES = {"small": 20_000, "city": 2_000_000}
#: Components per scale (DOMAIN.md §8: 500,000 at city scale).
COMPONENTS = {"small": 20_000, "city": 500_000}
#: Supervisors per scale (DOMAIN.md §8: 100 at city scale).
SUPERVISORS = {"small": 6, "city": 100}
#: Days of GPS tracks the demo loads per scale, ending with the last day of the cases.
PATROL_DAYS = {"small": 7, "city": 7}

__all__ = [
    "CASES",
    "COMPONENTS",
    "PATROL_DAYS",
    "SCALES",
    "SUPERVISORS",
    "DemoDistrict",
    "DemoPatrol",
    "DemoSatellite",
    "DemoSpec",
    "build_cases",
    "build_components",
    "build_district",
    "build_patrol",
    "load_demo",
    "load_demo_cases",
    "load_demo_components",
    "load_demo_patrol",
    "load_demo_satellite",
    "plan_satellite",
]
