"""What a feature collection is: its SQL source, properties, filters and data dependencies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from geogrid.errors import InvalidParameter, NotFound


@dataclass(frozen=True)
class Property:
    """A property of the collection's features: output name, SQL expression, JSON type."""

    name: str
    sql: str
    type: str = "string"
    title: str = ""
    in_tiles: bool = True


@dataclass(frozen=True)
class Filter:
    """A query parameter that filters features.

    ``sql`` is a boolean expression with one bound parameter ``:value``; ``parse`` turns the
    raw text into the bound value and raises :class:`InvalidParameter` when it cannot.
    """

    name: str
    sql: str
    description: str
    parse: Callable[[str], object] = str


@dataclass(frozen=True)
class Collection:
    """A layer geogrid serves.

    Parameters
    ----------
    id, title, description
        Identifier in URLs, and human-readable (Chinese) title.
    source
        SQL ``FROM ... [WHERE ...]`` fragment; the feature table is aliased ``f`` and its
        EPSG:4326 geometry is ``f.geom``. Must select only current rows.
    key
        SQL expression of the feature id (a code, as text).
    depends_on
        Tables whose writes change the layer (their ``layer_versions`` make tile ETags).
    mercator
        The feature table stores its geometry in EPSG:3857 as ``geom_3857`` (tiles use it).
    temporal
        SQL expression of each feature's time (e.g. ``f.registered_at``); the collection then
        accepts the OGC ``datetime`` parameter.
    """

    id: str
    title: str
    description: str
    source: str
    key: str
    properties: tuple[Property, ...]
    filters: tuple[Filter, ...] = ()
    depends_on: tuple[str, ...] = ()
    order_by: str = "f.code"
    geometry_type: str = "MultiPolygon"
    min_zoom: int = 0
    mercator: bool = False  # the table stores ``geom_3857`` (EPSG:3857) for tiles
    temporal: str | None = None  # SQL of the features' time, filtered by ``datetime``
    extra: dict[str, str] = field(default_factory=dict)

    def filter(self, name: str) -> Filter:
        for f in self.filters:
            if f.name == name:
                return f
        raise InvalidParameter(
            f"Unknown filter '{name}' for collection '{self.id}'; "
            f"known: {', '.join(f.name for f in self.filters) or 'none'}."
        )


class Registry:
    """The collections geogrid serves, in declaration order."""

    def __init__(self) -> None:
        self._items: dict[str, Collection] = {}

    def add(self, collection: Collection) -> Collection:
        self._items[collection.id] = collection
        return collection

    def get(self, collection_id: str) -> Collection:
        try:
            return self._items[collection_id]
        except KeyError:
            raise NotFound(
                f"There is no collection '{collection_id}'; known: {', '.join(self._items)}."
            ) from None

    def __iter__(self) -> Iterator[Collection]:
        return iter(self._items.values())

    def __contains__(self, collection_id: object) -> bool:
        return collection_id in self._items


registry = Registry()


def code_or_name(value: str) -> str:
    """A filter value: a code (digits) or a name; refuse empty and over-long values."""
    value = value.strip()
    if not value or len(value) > 100:
        raise InvalidParameter("A filter value must be 1 to 100 characters long.")
    return value
