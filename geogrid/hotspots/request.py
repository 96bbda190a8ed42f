"""The parameters of a hotspot analysis, read from request text (DOMAIN.md §3, §4).

Every check a request needs lives here, so the API route only hands over the raw query values
and every refusal is one sentence that names the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, cast

from geogrid.cases.columns import SOURCES
from geogrid.dates import check_period as check_days
from geogrid.dates import parse_day
from geogrid.errors import InvalidParameter

Value = Literal["count", "density"]
WeightsKind = Literal["queen", "rook", "distance", "knn"]
Boundaries = Literal["registered", "current"]

VALUES: tuple[Value, ...] = ("count", "density")
WEIGHTS: tuple[WeightsKind, ...] = ("queen", "rook", "distance", "knn")
BOUNDARIES: tuple[Boundaries, ...] = ("current", "registered")

MAX_PERIOD_DAYS = 366
"""Longest period one analysis covers: a (leap) year."""
MAX_PERMUTATIONS = 9999
MAX_K = 50
MAX_DISTANCE_M = 20_000.0
DEFAULT_K = 8
PAGE_DAYS = 30
"""Length of the map page's default period, ending on the last day with cases."""

_SUB_CLASS = re.compile(r"^[0-9]{5}$")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class CaseFilter:
    """Which cases are counted: registered in ``[start, end]`` (local days), of one kind."""

    start: date
    end: date
    sub_class: str | None = None
    source: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class HotspotRequest:
    """A Getis-Ord Gi* analysis of case counts over the current unit grids.

    ``distance_m`` and ``k`` are None unless the weights use them (``distance``, ``knn``).
    """

    cases: CaseFilter
    value: Value = "count"
    weights: WeightsKind = "queen"
    distance_m: float | None = None
    k: int | None = None
    permutations: int = 0
    fdr: bool = False
    boundaries: Boundaries = "current"


def _blank(raw: str | None) -> str | None:
    return None if raw is None or not raw.strip() else raw.strip()


def check_period(start: date, end: date) -> None:
    """Refuse a period that ends before it starts or is longer than :data:`MAX_PERIOD_DAYS`."""
    check_days(start, end, MAX_PERIOD_DAYS)


def parse_sub_class(raw: str | None) -> str | None:
    """A 5-digit subclass code (DOMAIN.md §2), or None when absent."""
    text = _blank(raw)
    if text is not None and not _SUB_CLASS.match(text):
        raise InvalidParameter(
            f"Parameter 'sub_class' must be a 5-digit subclass code such as 06010, got '{text}'."
        )
    return text


def parse_source(raw: str | None) -> str | None:
    """A case source code (DOMAIN.md §3) or its Chinese name, as the code; None when absent."""
    text = _blank(raw)
    if text is None:
        return None
    for code, label in SOURCES.items():
        if text in (code, label):
            return code
    raise InvalidParameter(f"Parameter 'source' must be one of {', '.join(SOURCES)}, got '{text}'.")


def _choice(raw: str | None, name: str, choices: tuple[str, ...]) -> str:
    text = _blank(raw)
    if text is None:
        return choices[0]
    if text not in choices:
        raise InvalidParameter(
            f"Parameter '{name}' must be one of {', '.join(choices)}, got '{text}'."
        )
    return text


def _number(raw: str | None, name: str, *, integer: bool, low: float, high: float) -> float | None:
    text = _blank(raw)
    if text is None:
        return None
    kind = "a whole number" if integer else "a number"
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        raise InvalidParameter(f"Parameter '{name}' must be {kind}, got '{text}'.") from None
    if not low <= value <= high:
        raise InvalidParameter(
            f"Parameter '{name}' must lie between {low:g} and {high:g}, got '{text}'."
        )
    return value


def _flag(raw: str | None, name: str) -> bool:
    text = _blank(raw)
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise InvalidParameter(f"Parameter '{name}' must be true or false, got '{text}'.")


def parse_case_filter(raw: Mapping[str, str | None]) -> CaseFilter:
    """The required period (``from``, ``to``) and the optional ``sub_class`` and ``source``."""
    start, end = parse_day(raw.get("from"), "from"), parse_day(raw.get("to"), "to")
    for name, day in (("from", start), ("to", end)):
        if day is None:
            raise InvalidParameter(
                f"Parameter '{name}' is required: a day written YYYY-MM-DD "
                "(the period runs from 'from' to 'to', both included)."
            )
    assert start is not None and end is not None
    check_period(start, end)
    return CaseFilter(
        start, end, parse_sub_class(raw.get("sub_class")), parse_source(raw.get("source"))
    )


def parse_hotspot_request(raw: Mapping[str, str | None]) -> HotspotRequest:
    """Read a :class:`HotspotRequest` from query text, refusing any malformed value.

    Parameters
    ----------
    raw
        Query values by name: ``from``, ``to`` (required, ``YYYY-MM-DD``, local days, at most
        366 days), ``sub_class`` (5 digits), ``source``, ``value`` (count | density),
        ``weights`` (queen | rook | distance | knn), ``distance_m`` (metres, weights=distance
        only), ``k`` (weights=knn only, default 8), ``permutations`` (0–9999), ``fdr``
        (true | false), ``boundaries`` (current | registered).

    Raises
    ------
    InvalidParameter
        With a sentence naming the first parameter at fault.
    """
    cases = parse_case_filter(raw)
    weights = cast(WeightsKind, _choice(raw.get("weights"), "weights", WEIGHTS))
    distance_m = _number(
        raw.get("distance_m"), "distance_m", integer=False, low=1.0, high=MAX_DISTANCE_M
    )
    k = _number(raw.get("k"), "k", integer=True, low=1, high=MAX_K)
    if distance_m is not None and weights != "distance":
        raise InvalidParameter("Parameter 'distance_m' applies only with weights=distance.")
    if k is not None and weights != "knn":
        raise InvalidParameter("Parameter 'k' applies only with weights=knn.")
    permutations = _number(
        raw.get("permutations"), "permutations", integer=True, low=0, high=MAX_PERMUTATIONS
    )
    return HotspotRequest(
        cases=cases,
        value=cast(Value, _choice(raw.get("value"), "value", VALUES)),
        weights=weights,
        distance_m=distance_m,
        k=(int(k) if k is not None else DEFAULT_K) if weights == "knn" else None,
        permutations=int(permutations or 0),
        fdr=_flag(raw.get("fdr"), "fdr"),
        boundaries=cast(Boundaries, _choice(raw.get("boundaries"), "boundaries", BOUNDARIES)),
    )


def default_page_period(
    start: date | None, end: date | None, latest: date | None
) -> tuple[date, date] | None:
    """The map page's period: the days given, else the :data:`PAGE_DAYS` days up to ``latest``.

    ``latest`` is the last day with a registered case (None: no case at all). A missing ``to``
    is ``latest`` (or ``from`` + 29 days when ``from`` is later); a missing ``from`` is
    ``to`` − 29 days. None when neither day is given and there is no case.
    """
    if end is None:
        if start is None and latest is None:
            return None
        end = latest if latest is not None and (start is None or latest >= start) else None
        if end is None:
            assert start is not None
            end = start + timedelta(days=PAGE_DAYS - 1)
    if start is None:
        start = end - timedelta(days=PAGE_DAYS - 1)
    check_period(start, end)
    return start, end
