"""Import every domain area's layer declarations so that the registry knows them all."""

from __future__ import annotations

from geogrid.features.collection import Registry, registry


def load_layers() -> Registry:
    """Return the registry with every collection geogrid serves declared in it."""
    import geogrid.cases.layers
    import geogrid.components.layers
    import geogrid.grids.layers
    import geogrid.territory.layers  # noqa: F401

    return registry
