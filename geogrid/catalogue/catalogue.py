"""The classification catalogue (GB/T 47678.5-2026, CATALOGUE.md) with a district's extension."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from geogrid.catalogue.csvfile import (
    COLUMNS,
    REQUIRED_COLUMNS,
    parse_catalogue,
    read_rows,
    read_text,
)
from geogrid.catalogue.legacy import LegacyTables, map_recorded, normalise_name
from geogrid.catalogue.model import KINDS, CatalogueItem, Kind
from geogrid.errors import NotFound, Problem, ValidationFailed

MAP_CACHE_SIZE = 65536


class Catalogue:
    """Component and event types keyed by (kind, code), with O(1) lookups.

    Components and events share the code space (01001 is both 供水井盖 and 供水井盖异常), so
    every method takes the kind (CATALOGUE.md).
    """

    def __init__(self, items: Iterable[CatalogueItem], legacy: LegacyTables) -> None:
        self._items: dict[tuple[Kind, str], CatalogueItem] = {}
        self._by_name: dict[tuple[Kind, str], str] = {}
        self._by_major: dict[tuple[Kind, str | None], list[CatalogueItem]] = {}
        self._majors: dict[Kind, dict[str, str]] = {k: {} for k in KINDS}
        for item in sorted(items, key=lambda i: (i.kind, i.code)):
            self._items[(item.kind, item.code)] = item
            self._by_name.setdefault((item.kind, normalise_name(item.name)), item.code)
            self._by_major.setdefault((item.kind, None), []).append(item)
            self._by_major.setdefault((item.kind, item.major), []).append(item)
            self._majors[item.kind].setdefault(item.major, item.major_name)
        self._legacy = legacy
        self._map = functools.lru_cache(maxsize=MAP_CACHE_SIZE)(self._map_uncached)

    def __len__(self) -> int:
        return len(self._items)

    def find(self, kind: Kind, code: str) -> CatalogueItem | None:
        """The item of ``kind`` with the current 5-digit ``code``, or None."""
        return self._items.get((kind, code))

    def get(self, kind: Kind, code: str) -> CatalogueItem:
        """The item of ``kind`` with ``code``.

        Raises
        ------
        NotFound
            When the catalogue has no such item.
        """
        item = self._items.get((kind, code))
        if item is None:
            raise NotFound(f"The catalogue has no {kind} type with code '{code}'.")
        return item

    def items(self, kind: Kind, major: str | None = None) -> list[CatalogueItem]:
        """The items of ``kind`` (of one 2-digit ``major`` class when given), sorted by code."""
        return list(self._by_major.get((kind, major), ()))

    def name(self, kind: Kind, code: str) -> str:
        """The name of an item, or the code itself when the catalogue does not know it."""
        item = self._items.get((kind, code))
        return item.name if item is not None else code

    def majors(self, kind: Kind) -> dict[str, str]:
        """The major classes of ``kind``: 2-digit code → name, sorted by code."""
        return dict(self._majors.get(kind, {}))

    def map_code(self, kind: Kind, recorded: str, name: str | None = None) -> str | None:
        """The current 5-digit code for a recorded code (DOMAIN.md §2, CATALOGUE.md "Legacy codes").

        Parameters
        ----------
        kind
            "component" or "event".
        recorded
            A current code (maps to itself), a GB/T 30428.2-2013 event code (``01-10`` or
            ``0110`` → 06010), a CJ/T 214-2007 component code (``0118`` → 01037, by name) or a
            current code that lost its leading zero in a spreadsheet (``6010``).
        name
            The recorded subclass name, tried (with the synonym table) when the code does not map.

        Returns
        -------
        str or None
            None when nothing maps: the caller keeps the recorded code and reports the row.
            Results are cached (imports map the same few codes on 200,000 rows).
        """
        return self._map(kind, recorded, name)

    def _map_uncached(self, kind: Kind, recorded: str, name: str | None) -> str | None:
        return map_recorded(kind, recorded, name, self._legacy, self._exists, self._lookup)

    def _exists(self, kind: Kind, code: str) -> bool:
        return (kind, code) in self._items

    def _lookup(self, kind: Kind, name: str) -> str | None:
        return self._by_name.get((kind, name))


def _shipped_text() -> str:
    resource = files("geogrid.catalogue").joinpath("data", "catalogue.csv")
    return resource.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _shipped_items() -> dict[tuple[Kind, str], CatalogueItem]:
    rows = read_rows(_shipped_text(), source="catalogue.csv", columns=COLUMNS, required=COLUMNS)
    return parse_catalogue(rows, base={}, source="catalogue.csv")


@functools.lru_cache(maxsize=1)
def _legacy() -> LegacyTables:
    return LegacyTables.shipped()


@functools.lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    return Catalogue(_shipped_items().values(), _legacy())


def load_catalogue(extension: Path | None = None) -> Catalogue:
    """The shipped catalogue, extended or overridden by a district's CSV file.

    Parameters
    ----------
    extension
        A CSV of the shipped columns (``kind,code`` required, the others optional; see
        ``geogrid.catalogue.csvfile``). A row with an existing (kind, code) overrides it, its
        empty cells keeping the shipped values; a new one adds a local subclass. UTF-8 or GB18030.

    Returns
    -------
    Catalogue
        Without ``extension`` the shipped catalogue, built once per process.

    Raises
    ------
    ValidationFailed
        When the extension breaks a rule; each problem names its row (line of the file).
    """
    if extension is None:
        return _shipped()
    source = extension.name
    try:
        text = read_text(extension)
    except OSError as exc:
        problem = Problem(str(extension), "file", f"The catalogue file cannot be read: {exc}.")
        raise ValidationFailed(f"The catalogue file {source} cannot be read.", [problem]) from exc
    rows = read_rows(text, source=source, columns=COLUMNS, required=REQUIRED_COLUMNS)
    items = parse_catalogue(rows, base=_shipped_items(), source=source)
    return Catalogue(items.values(), _legacy())
