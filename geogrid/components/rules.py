"""Pure rules of the component inventory (DOMAIN.md §2): identifiers, statuses, moves.

A component identifier is 17 digits: the 6-digit district code, the 5-digit class code and
a 6-digit sequence. Legacy data carries 16 digits (6 + 2 major + 2 minor + 6): accepted and
kept as given; their class is read from the 2 + 2 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geogrid.errors import InvalidParameter

#: Status codes and their Chinese names (DOMAIN.md §2).
STATUSES = {
    "intact": "完好",
    "damaged": "破损",
    "missing": "丢失",
    "occupied": "占用",
    "retired": "废弃",
    "removed": "移除",
}
STATUS_ALIASES = {label: code for code, label in STATUSES.items()}
#: A component moved by more than this (metres) is reported as moved.
MOVE_THRESHOLD_M = 1.0
SEQUENCE_DIGITS = 6
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1

_CODE = re.compile(r"^(\d{6})(\d{5})(\d{6})$")
_LEGACY = re.compile(r"^(\d{6})(\d{2})(\d{2})(\d{6})$")


@dataclass(frozen=True)
class ComponentCode:
    """A parsed identifier: district, class as written (5 or legacy 4 digits), sequence."""

    code: str
    district_code: str
    class_code: str
    sequence: int
    legacy: bool

    @property
    def major_class(self) -> str:
        return self.class_code[:2]


def parse_component_code(code: str) -> ComponentCode:
    """Parse a 17-digit (or legacy 16-digit) identifier; InvalidParameter when it is neither."""
    text = code.strip()
    if m := _CODE.match(text):
        return ComponentCode(text, m[1], m[2], int(m[3]), legacy=False)
    if m := _LEGACY.match(text):
        return ComponentCode(text, m[1], m[2] + m[3], int(m[4]), legacy=True)
    raise InvalidParameter(
        f"'{code}' is not a component identifier: 17 digits (6 district + 5 class + 6 "
        "sequence) or a legacy 16 (6 + 2 + 2 + 6)."
    )


def make_component_code(district_code: str, sub_class: str, sequence: int) -> str:
    """The 17-digit identifier of the ``sequence``-th component of ``sub_class``."""
    if not (re.fullmatch(r"\d{6}", district_code) and re.fullmatch(r"\d{5}", sub_class)):
        raise InvalidParameter("A district code has 6 digits and a class code 5.")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidParameter(f"A component sequence runs from 1 to {MAX_SEQUENCE}.")
    return f"{district_code}{sub_class}{sequence:0{SEQUENCE_DIGITS}d}"


def status_code(value: str) -> str | None:
    """The status code of ``value`` (code or Chinese name); None when unknown."""
    text = value.strip()
    if text in STATUSES:
        return text
    return STATUS_ALIASES.get(text)


#: How statuses may be written, for messages.
LEGACY_STATES_HINT = (
    ", ".join(f"{code} ({label})" for code, label in STATUSES.items())
    + "; census codes 1–6 in that order"
)
