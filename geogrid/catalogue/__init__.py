"""The classification catalogue of components and events (GB/T 47678.5-2026, CATALOGUE.md).

Shipped as package data (``data/catalogue.csv``: 153 component types, 250 event types) with the
defaults a district configures: geometry type, competent department and deadlines per urgency
(the choices are documented in the header of that file). A district extends or overrides rows
with its own CSV (``load_catalogue(extension)``); historical codes map to current ones with
``Catalogue.map_code`` (DOMAIN.md §2).
"""

from geogrid.catalogue.catalogue import Catalogue, load_catalogue
from geogrid.catalogue.model import (
    DEADLINE_UNITS,
    GEOMETRIES,
    KINDS,
    CatalogueItem,
    Deadline,
    DeadlineUnit,
    Kind,
)

__all__ = [
    "DEADLINE_UNITS",
    "GEOMETRIES",
    "KINDS",
    "Catalogue",
    "CatalogueItem",
    "Deadline",
    "DeadlineUnit",
    "Kind",
    "load_catalogue",
]
