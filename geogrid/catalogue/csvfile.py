"""Reading catalogue CSV files: the shipped catalogue and a district's extension, one parser.

Columns: ``kind,code,name,major_name,geometry,department,normal_amount,normal_unit,
urgent_amount,urgent_unit``. Lines starting with ``#`` are comments. A row whose (kind, code)
already exists overrides it, and its empty cells keep the existing values (a district may give
only ``kind,code,department``); a new (kind, code) adds a local subclass and must be complete.
"Row n" in a problem is line n of the file, as an editor or a spreadsheet shows it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import cast

from geogrid.catalogue.model import (
    DEADLINE_UNITS,
    GEOMETRIES,
    KINDS,
    CatalogueItem,
    Deadline,
    DeadlineUnit,
    Kind,
)
from geogrid.errors import Problem, ValidationFailed

COLUMNS = (
    "kind",
    "code",
    "name",
    "major_name",
    "geometry",
    "department",
    "normal_amount",
    "normal_unit",
    "urgent_amount",
    "urgent_unit",
)
REQUIRED_COLUMNS = ("kind", "code")
CODE = re.compile(r"^\d{5}$")

Row = tuple[int, dict[str, str]]
Key = tuple[Kind, str]


def read_text(path: Path) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), else GB18030 as Chinese Excel saves."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_rows(
    text: str, *, source: str, columns: Iterable[str], required: Iterable[str]
) -> list[Row]:
    """The data rows of a CSV text with their line numbers, comments and blank lines skipped.

    Raises
    ------
    ValidationFailed
        When the header lacks a required column or names an unknown one.
    """
    allowed, needed = tuple(columns), tuple(required)
    header: list[str] | None = None
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        if header is None:
            header = cells
            problems = [
                Problem("header", "columns", f"Column '{c}' is missing from {source}.")
                for c in needed
                if c not in header
            ] + [
                Problem(
                    "header",
                    "columns",
                    f"Column '{c}' is unknown; the columns are {', '.join(allowed)}.",
                )
                for c in header
                if c not in allowed
            ]
            if problems:
                raise ValidationFailed(f"The header of {source} is not valid.", problems)
            continue
        cells += [""] * (len(header) - len(cells))
        rows.append((number, dict(zip(header, cells, strict=False))))
    return rows


def _deadline(
    row: dict[str, str], prefix: str, where: str, old: Deadline | None, problems: list[Problem]
) -> Deadline | None:
    amount_text, unit = row.get(f"{prefix}_amount", ""), row.get(f"{prefix}_unit", "")
    if not amount_text and not unit:
        if old is None:
            problems.append(
                Problem(where, "required", f"A new subclass needs {prefix}_amount and _unit.")
            )
        return old
    if not amount_text or not unit:
        problems.append(
            Problem(where, "deadline_pair", f"Give both {prefix}_amount and {prefix}_unit.")
        )
        return None
    if unit not in DEADLINE_UNITS:
        problems.append(
            Problem(
                where,
                "deadline_unit",
                f"{prefix}_unit '{unit}' is not one of {', '.join(DEADLINE_UNITS)}.",
            )
        )
        return None
    try:
        amount = float(amount_text)
    except ValueError:
        amount = float("nan")
    if not amount > 0 or amount == float("inf"):
        problems.append(
            Problem(where, "deadline_amount", f"{prefix}_amount '{amount_text}' is not > 0.")
        )
        return None
    if unit == "working_days" and not amount.is_integer():
        problems.append(
            Problem(
                where,
                "deadline_amount",
                f"{prefix}_amount '{amount_text}' working_days must be a whole number.",
            )
        )
        return None
    return Deadline(amount, cast(DeadlineUnit, unit))


def _major_name(
    row: dict[str, str],
    key: Key,
    where: str,
    old: CatalogueItem | None,
    majors: Mapping[Key, str],
    problems: list[Problem],
) -> str | None:
    kind, code = key
    given, known = row.get("major_name", ""), majors.get((kind, code[:2]))
    if given and known is not None and given != known:
        problems.append(
            Problem(
                where,
                "major_name",
                f"Major class {code[:2]} of the {kind}s is '{known}', not '{given}'.",
            )
        )
        return None
    name = given or known or (old.major_name if old else None)
    if name is None:
        problems.append(
            Problem(where, "major_name", f"Major class {code[:2]} is new: give its major_name.")
        )
    return name


def _geometry(
    row: dict[str, str], kind: Kind, where: str, old: CatalogueItem | None, problems: list[Problem]
) -> str | None:
    given = row.get("geometry", "")
    if kind == "event":
        if given:
            problems.append(Problem(where, "geometry", "An event type has no geometry."))
        return None
    if not given:
        if old is None:
            problems.append(Problem(where, "required", "A new component type needs its geometry."))
        return old.geometry if old else None
    if given not in GEOMETRIES:
        problems.append(
            Problem(where, "geometry", f"Geometry '{given}' is not one of point, line, polygon.")
        )
        return None
    return given


def parse_catalogue(
    rows: list[Row], *, base: Mapping[Key, CatalogueItem], source: str
) -> dict[Key, CatalogueItem]:
    """Apply catalogue rows on top of ``base`` and return the resulting items by (kind, code).

    Raises
    ------
    ValidationFailed
        Listing every problem of every row (``where`` = "row n").
    """
    items = dict(base)
    majors: dict[Key, str] = {(i.kind, i.major): i.major_name for i in base.values()}
    seen: set[Key] = set()
    problems: list[Problem] = []
    for number, row in rows:
        where, before = f"row {number}", len(problems)
        kind_text, code = row.get("kind", ""), row.get("code", "")
        if kind_text not in KINDS:
            problems.append(
                Problem(where, "kind", f"Kind '{kind_text}' is not component or event.")
            )
        if not CODE.match(code):
            problems.append(Problem(where, "code", f"Code '{code}' is not 5 digits."))
        if len(problems) > before:
            continue
        key: Key = (cast(Kind, kind_text), code)
        if key in seen:
            problems.append(Problem(where, "duplicate", f"{kind_text} {code} is given twice."))
            continue
        seen.add(key)
        old = items.get(key)
        name = row.get("name", "") or (old.name if old else "")
        if not name:
            problems.append(Problem(where, "required", "A new subclass needs its name."))
        major_name = _major_name(row, key, where, old, majors, problems)
        geometry = _geometry(row, key[0], where, old, problems)
        normal = _deadline(row, "normal", where, old.deadline_normal if old else None, problems)
        urgent = _deadline(row, "urgent", where, old.deadline_urgent if old else None, problems)
        if len(problems) > before or major_name is None or normal is None or urgent is None:
            continue
        department = row.get("department", "") or (old.department if old else None)
        items[key] = CatalogueItem(
            key[0], code, name, code[:2], major_name, geometry, department, normal, urgent
        )
        majors[(key[0], code[:2])] = major_name
    if problems:
        raise ValidationFailed(
            f"The catalogue file {source} has {len(problems)} problem(s).", problems
        )
    return items
