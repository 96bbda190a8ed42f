"""Older classification codes and names, and how they map to GB/T 47678.5-2026 (DOMAIN.md §2).

- GB/T 30428.2-2013 event codes ``MM-NN`` or ``MMNN`` with MM in 01..04: the majors shifted
  01→06, 02→07, 03→08, 04→09 and the minors kept their numbers (01-10 → 06010 暴露垃圾).
- CJ/T 214-2007 component codes ``MMNN`` (list order): mapped BY NAME (CATALOGUE.md "Legacy
  codes"), through ``data/cjt214_components.csv`` (code → old name) and ``data/name_synonyms.csv``
  (old name → current name), then an exact match on the catalogue's names.
- A 4-digit code not starting with 0 is a 5-digit code whose leading zero a spreadsheet dropped
  (``6010`` → 06010).
The mapping functions here are pure; ``Catalogue.map_code`` caches them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import cast

from geogrid.catalogue.csvfile import read_rows
from geogrid.catalogue.model import KINDS, Kind

GBT2013_EVENT = re.compile(r"^(0[1-4])-?(\d{2})$")
FOUR_DIGITS = re.compile(r"^(\d{2})-?(\d{2})$")
_PARENS = str.maketrans({"(": "（", ")": "）"})


def normalise_name(name: str) -> str:
    """A name as compared: no blanks, full-width brackets (``变压器(箱)`` → ``变压器（箱）``)."""
    return "".join(name.split()).translate(_PARENS)


@dataclass(frozen=True)
class LegacyTables:
    """The shipped tables of old codes and names."""

    cjt214_components: Mapping[str, str]
    synonyms: Mapping[tuple[Kind, str], str]

    @classmethod
    def shipped(cls) -> LegacyTables:
        """Read ``data/cjt214_components.csv`` and ``data/name_synonyms.csv``."""
        data = files("geogrid.catalogue").joinpath("data")
        codes = read_rows(
            data.joinpath("cjt214_components.csv").read_text(encoding="utf-8"),
            source="cjt214_components.csv",
            columns=("old_code", "old_name"),
            required=("old_code", "old_name"),
        )
        synonyms = read_rows(
            data.joinpath("name_synonyms.csv").read_text(encoding="utf-8"),
            source="name_synonyms.csv",
            columns=("kind", "old_name", "name"),
            required=("kind", "old_name", "name"),
        )
        return cls(
            {r["old_code"]: r["old_name"] for _, r in codes},
            {
                (cast(Kind, r["kind"]), normalise_name(r["old_name"])): r["name"]
                for _, r in synonyms
                if r["kind"] in KINDS
            },
        )


def map_name(
    kind: Kind, name: str, tables: LegacyTables, lookup: Callable[[Kind, str], str | None]
) -> str | None:
    """The current code of a recorded name, or None.

    ``lookup(kind, normalised_name)`` finds a current code by exact name. The name is tried as
    given and through the synonym table; for events, a component's name with "异常" appended
    (an old "垃圾箱" event is the current 03005 垃圾箱异常).
    """
    norm = normalise_name(name)
    candidates = [tables.synonyms.get((kind, norm)), norm]
    if kind == "event":
        component = tables.synonyms.get(("component", norm), norm)
        candidates.append(normalise_name(component) + "异常")
    for candidate in candidates:
        if candidate is not None:
            code = lookup(kind, normalise_name(candidate))
            if code is not None:
                return code
    return None


def map_recorded(
    kind: Kind,
    recorded: str,
    name: str | None,
    tables: LegacyTables,
    exists: Callable[[Kind, str], bool],
    lookup: Callable[[Kind, str], str | None],
) -> str | None:
    """The current 5-digit code of a recorded code (and optional recorded name), or None.

    Parameters
    ----------
    kind
        "component" or "event".
    recorded
        The code as recorded: current (``06010``), GB/T 30428.2-2013 (``01-10``, ``0110``,
        events), CJ/T 214-2007 (``0118``, components) or a current code that lost its leading 0.
    name
        The recorded subclass name, the fallback when the code cannot be mapped.
    exists, lookup
        ``exists(kind, code)``: is it a current code; ``lookup(kind, name)``: code by exact name.
    """
    code = recorded.strip()
    if exists(kind, code):
        return code
    if kind == "event" and (m := GBT2013_EVENT.match(code)):
        mapped = f"{int(m.group(1)) + 5:02d}0{m.group(2)}"
        if exists(kind, mapped):
            return mapped
    elif kind == "component" and (m := FOUR_DIGITS.match(code)):
        old_name = tables.cjt214_components.get(m.group(1) + m.group(2))
        if old_name is not None and (mapped_code := map_name(kind, old_name, tables, lookup)):
            return mapped_code
    if len(code) == 4 and code.isdigit() and code[0] != "0" and exists(kind, "0" + code):
        return "0" + code
    if name:
        return map_name(kind, name, tables, lookup)
    return None
