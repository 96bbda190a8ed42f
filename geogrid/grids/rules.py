"""Pure rules of unit-grid codes and numbering (DOMAIN.md §1).

A unit grid's code is the 12-digit code of its community followed by a 3-digit sequence
001–999, numbered inside the community from west to east, then north to south. Legacy codes
with a 2-digit sequence (14 digits) are accepted as given. Street codes carry a 3-digit town
code whose range says what kind of unit the street is (001–099 街道, 100–199 镇, 200–399 乡).

Nothing here touches a database: the functions take plain values and shapely geometries.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry import Point

from geogrid.errors import InvalidParameter

DISTRICT_DIGITS = 6
STREET_DIGITS = 9
COMMUNITY_DIGITS = 12
GRID_DIGITS = 15
LEGACY_GRID_DIGITS = 14
MAX_SEQUENCE = 999

_DIGITS = re.compile(r"[0-9]*")
_TOWN_KINDS = ((1, 99, "街道"), (100, 199, "镇"), (200, 399, "乡"))


@dataclass(frozen=True)
class GridCode:
    """A parsed unit-grid code (DOMAIN.md §1).

    Attributes
    ----------
    district : str
        The 6-digit administrative division code of the district, e.g. ``"530114"``.
    street : str
        The 9-digit code of the street or town (district + 3-digit town code).
    community : str
        The 12-digit code of the community or village (street + 3 digits).
    sequence : int
        The grid's sequence inside its community, 1–999 (1–99 for legacy codes).
    legacy : bool
        True for a legacy 14-digit code with a 2-digit sequence.
    """

    district: str
    street: str
    community: str
    sequence: int
    legacy: bool

    @property
    def code(self) -> str:
        """The code as written: 15 digits, or 14 for a legacy code (kept as given)."""
        width = 2 if self.legacy else 3
        return f"{self.community}{self.sequence:0{width}d}"


def _is_ascii_digits(value: object) -> bool:
    return isinstance(value, str) and _DIGITS.fullmatch(value) is not None


def parse_grid_code(code: str) -> GridCode:
    """Split a unit-grid code into district, street, community and sequence.

    Parameters
    ----------
    code : str
        A 15-digit code (6 + 3 + 3 + 3) or a legacy 14-digit code (6 + 3 + 3 + 2),
        ASCII digits only, as text (DOMAIN.md §1).

    Returns
    -------
    GridCode
        The parts of the code; ``legacy`` tells which form it had.

    Raises
    ------
    InvalidParameter
        When the code has other characters or another length, or when its town code,
        community part or sequence is all zeros.
    """
    if not isinstance(code, str):
        raise InvalidParameter(
            f"Grid code {code!r} is not text; codes are text so that leading zeros are kept."
        )
    if not _is_ascii_digits(code):
        raise InvalidParameter(
            f"Grid code {code!r} is not valid: a grid code is made of the digits 0-9 only."
        )
    if len(code) not in (GRID_DIGITS, LEGACY_GRID_DIGITS):
        raise InvalidParameter(
            f"Grid code {code!r} has {len(code)} digits; a grid code has 15 digits "
            "(or 14 for a legacy code with a 2-digit sequence)."
        )
    district, street, community = code[:6], code[:9], code[:12]
    if street[6:] == "000":
        raise InvalidParameter(f"Grid code {code!r} has town code 000, which names no street.")
    if community[9:] == "000":
        raise InvalidParameter(
            f"Grid code {code!r} has community part 000, which names no community."
        )
    sequence = int(code[12:])
    if sequence == 0:
        raise InvalidParameter(
            f"Grid code {code!r} has sequence {code[12:]}; grid sequences start at 1."
        )
    return GridCode(
        district=district,
        street=street,
        community=community,
        sequence=sequence,
        legacy=len(code) == LEGACY_GRID_DIGITS,
    )


def street_kind(street_code: str) -> str:
    """The kind of a street from its town code (DOMAIN.md §1).

    Parameters
    ----------
    street_code : str
        A 9-digit street code (district + town code), or the 3-digit town code alone.

    Returns
    -------
    str
        ``'街道'`` for town codes 001–099, ``'镇'`` for 100–199, ``'乡'`` for 200–399.

    Raises
    ------
    InvalidParameter
        When the value is not 9 (or 3) ASCII digits or the town code is outside 001–399.
    """
    if not _is_ascii_digits(street_code) or len(street_code) not in (STREET_DIGITS, 3):
        raise InvalidParameter(
            f"Street code {street_code!r} is not valid: a street code has 9 digits "
            "(6 for the district and a 3-digit town code)."
        )
    town = int(street_code[-3:])
    for low, high, kind in _TOWN_KINDS:
        if low <= town <= high:
            return kind
    raise InvalidParameter(
        f"Street code {street_code!r} has town code {street_code[-3:]}, outside the ranges "
        "001-099 (街道), 100-199 (镇) and 200-399 (乡)."
    )


def _xy(point: tuple[float, float] | Point, index: int) -> tuple[float, float]:
    if isinstance(point, Point):
        if point.is_empty:
            raise InvalidParameter(f"Point {index} is empty; every grid needs a position.")
        x, y = float(point.x), float(point.y)
    else:
        try:
            x, y = (float(v) for v in point)
        except (TypeError, ValueError) as exc:
            raise InvalidParameter(
                f"Point {index} ({point!r}) is not a pair of coordinates (x, y)."
            ) from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidParameter(f"Point {index} ({x}, {y}) has a coordinate that is not finite.")
    return x, y


def number_grids(
    points: Sequence[tuple[float, float] | Point], *, row_tolerance: float
) -> list[int]:
    """Number the grids of one community west to east, then north to south (DOMAIN.md §1).

    Rows are y-bands taken from north to south: the northernmost grid not yet in a row starts
    a row, and every remaining grid whose y is within ``row_tolerance`` of that first grid
    joins it. Inside a row grids are numbered by increasing x (west to east); equal x are
    ordered north first, and exact duplicates keep their input order, so the result is
    deterministic.

    Parameters
    ----------
    points : sequence of (x, y) pairs or shapely Points
        One representative point per grid, in a projected CRS in metres (x east, y north).
    row_tolerance : float
        Metres; how far south of a row's first grid a grid may lie and still be in that row.

    Returns
    -------
    list of int
        The 1-based sequence of each grid, in the order of ``points`` (a permutation of 1..n).

    Raises
    ------
    InvalidParameter
        When a point is malformed or not finite, or ``row_tolerance`` is negative or not finite.
    """
    if not (math.isfinite(row_tolerance) and row_tolerance >= 0):
        raise InvalidParameter(
            f"row_tolerance must be a finite number of metres >= 0, not {row_tolerance!r}."
        )
    coords = [_xy(p, i) for i, p in enumerate(points)]
    north_first = sorted(range(len(coords)), key=lambda i: (-coords[i][1], coords[i][0], i))
    sequence = [0] * len(coords)
    number = 0
    start = 0
    while start < len(north_first):
        top = coords[north_first[start]][1]
        end = start
        while end < len(north_first) and coords[north_first[end]][1] >= top - row_tolerance:
            end += 1
        row = sorted(north_first[start:end], key=lambda i: (coords[i][0], -coords[i][1], i))
        for i in row:
            number += 1
            sequence[i] = number
        start = end
    return sequence


def make_grid_code(community_code: str, sequence: int) -> str:
    """The 15-digit code of the grid numbered ``sequence`` in a community (DOMAIN.md §1).

    Parameters
    ----------
    community_code : str
        The community's 12-digit code.
    sequence : int
        The grid's sequence inside the community, 1–999.

    Returns
    -------
    str
        ``community_code`` followed by the zero-padded 3-digit sequence.

    Raises
    ------
    InvalidParameter
        When the community code is not 12 ASCII digits or the sequence is outside 1–999.
    """
    if not _is_ascii_digits(community_code) or len(community_code) != COMMUNITY_DIGITS:
        raise InvalidParameter(
            f"Community code {community_code!r} is not valid: a community code has 12 digits."
        )
    try:
        if isinstance(sequence, bool):
            raise TypeError
        sequence = operator.index(sequence)
    except TypeError as exc:
        raise InvalidParameter(f"Grid sequence {sequence!r} is not an integer.") from exc
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidParameter(
            f"Grid sequence {sequence} in community {community_code} is outside 1-999."
        )
    return f"{community_code}{sequence:03d}"
