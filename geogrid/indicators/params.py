"""What an indicator query asks for: level, period, cut-off and filters (DOMAIN.md §4).

Parsed once from text (query string or CLI options), with sentences naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geogrid.cases.columns import PLATFORMS, SOURCES
from geogrid.errors import InvalidParameter
from geogrid.sanitation.rules import SANITATION_SUB_CLASSES, SELF_HANDLED_SOURCE

LEVELS = (
    "grid",
    "community",
    "street",
    "district",
    "department",
    "source",
    "platform",
    "sub_class",
    "company",
)
BOUNDARIES = ("registered", "current")
DENOMINATORS = ("registered", "due")
MAX_PERIOD_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` (inclusive, local time) and the cut-off time of the counts."""

    start: date
    end: date
    cutoff: datetime
    tz: str = "Asia/Shanghai"

    @property
    def t0(self) -> datetime:
        """Start of the first day, aware."""
        return datetime.combine(self.start, datetime.min.time(), ZoneInfo(self.tz))

    @property
    def t1(self) -> datetime:
        """Start of the day after the last one, aware (the period is [t0, t1))."""
        return datetime.combine(
            self.end + timedelta(days=1), datetime.min.time(), ZoneInfo(self.tz)
        )

    @classmethod
    def parse(
        cls, start: str | None, end: str | None, cutoff: str | None = None, *, tz: str
    ) -> Period:
        """Parse ``YYYY-MM-DD`` days and an optional ISO cut-off (naive = local time).

        The cut-off defaults to the end of the period.
        """
        first = parse_day(start, "from")
        last = parse_day(end, "to")
        if last < first:
            raise InvalidParameter(f"Parameter 'to' ({last}) is before 'from' ({first}).")
        if (last - first).days > MAX_PERIOD_DAYS:
            raise InvalidParameter(f"The period may span at most {MAX_PERIOD_DAYS} days.")
        period = cls(first, last, datetime.now(ZoneInfo(tz)), tz)
        if cutoff is None or not cutoff.strip():
            return cls(first, last, period.t1, tz)
        try:
            moment = datetime.fromisoformat(cutoff.strip().replace(" ", "T"))
        except ValueError:
            raise InvalidParameter(
                f"Parameter 'cutoff' must be an ISO date and time such as "
                f"2026-11-01T00:00:00+08:00, got '{cutoff}'."
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        if moment < period.t0:
            raise InvalidParameter(
                f"Parameter 'cutoff' ({moment.isoformat()}) is before the period starts."
            )
        return cls(first, last, moment, tz)

    @classmethod
    def month(cls, text: str, *, tz: str) -> Period:
        """The calendar month ``YYYY-MM``, cut off at its end."""
        try:
            first = datetime.strptime(text.strip(), "%Y-%m").date()
        except ValueError:
            raise InvalidParameter(f"Parameter 'month' must be YYYY-MM, got '{text}'.") from None
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = following - timedelta(days=1)
        return cls.parse(first.isoformat(), last.isoformat(), tz=tz)


def parse_day(text: str | None, name: str) -> date:
    """A ``YYYY-MM-DD`` day, or InvalidParameter naming the parameter."""
    if text is None or not text.strip():
        raise InvalidParameter(f"Parameter '{name}' is required (a day, YYYY-MM-DD).")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(
            f"Parameter '{name}' must be a day YYYY-MM-DD, got '{text}'."
        ) from None


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InvalidParameter(
            f"Parameter '{name}' must be one of {', '.join(allowed)}, got '{value}'."
        )
    return value


@dataclass(frozen=True)
class IndicatorQuery:
    """One indicator table: cases registered in ``period``, grouped by ``level``.

    ``boundaries`` chooses the grid/community/street a case counts in: ``registered`` (the
    one at registration, DOMAIN.md §3) or ``current`` (after grid updates). ``sub_classes``
    and ``excluded_sources`` narrow the cases counted: level ``company`` (the sanitation
    companies, issue 10) counts the sanitation subclasses only, and without a ``source`` leaves
    the self-handled cases (``grid_worker``) out: they are counted apart
    (:mod:`geogrid.sanitation.indicators`).
    """

    level: str
    period: Period
    platform: str | None = None
    source: str | None = None
    boundaries: str = "registered"
    denominator: str = "registered"
    accumulation_start: date = date(2019, 1, 1)
    repeat_distance_m: float = 30.0
    extension_excluded: tuple[str, ...] = field(default=())
    sub_classes: tuple[str, ...] = field(default=())
    excluded_sources: tuple[str, ...] = field(default=())

    @classmethod
    def monthly(cls, month: str, **options: Any) -> IndicatorQuery:
        """The department query of the month ``YYYY-MM`` (the monthly report's base)."""
        tz = options.get("tz", "Asia/Shanghai")
        period = Period.month(month, tz=tz)
        return cls.parse(
            level="department",
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            **options,
        )

    @classmethod
    def parse(
        cls,
        *,
        level: str | None,
        start: str | None,
        end: str | None,
        cutoff: str | None = None,
        platform: str | None = None,
        source: str | None = None,
        boundaries: str | None = None,
        denominator: str | None = None,
        tz: str = "Asia/Shanghai",
        accumulation_start: str = "2019-01-01",
        repeat_distance_m: float = 30.0,
        default_denominator: str = "registered",
        extension_excluded: str = "",
    ) -> IndicatorQuery:
        """Parse text parameters (API query or CLI options); errors name the parameter."""
        if platform not in (None, "") and platform not in PLATFORMS:
            raise InvalidParameter(
                f"Parameter 'platform' must be one of {', '.join(PLATFORMS)}, got '{platform}'."
            )
        if source not in (None, "") and source not in SOURCES:
            raise InvalidParameter(
                f"Parameter 'source' must be one of {', '.join(SOURCES)}, got '{source}'."
            )
        chosen = _choice(level, "level", LEVELS, "street")
        company = chosen == "company"
        return cls(
            level=chosen,
            period=Period.parse(start, end, cutoff, tz=tz),
            platform=platform or None,
            source=source or None,
            boundaries=_choice(boundaries, "boundaries", BOUNDARIES, "registered"),
            denominator=_choice(denominator, "denominator", DENOMINATORS, default_denominator),
            accumulation_start=parse_day(accumulation_start, "accumulation_start"),
            repeat_distance_m=repeat_distance_m,
            extension_excluded=tuple(c for c in extension_excluded.split(",") if c),
            sub_classes=tuple(SANITATION_SUB_CLASSES) if company else (),
            excluded_sources=(SELF_HANDLED_SOURCE,) if company and not source else (),
        )
