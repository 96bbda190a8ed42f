"""Days and periods given as text by users (query parameters, form fields, CLI options)."""

from __future__ import annotations

import re
from datetime import date

from geogrid.errors import InvalidParameter


def parse_day(raw: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` day, None when absent or blank; InvalidParameter naming ``name`` when
    malformed."""
    text = None if raw is None or not raw.strip() else raw.strip()
    if text is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            f"Parameter '{name}' must be a day written YYYY-MM-DD, got '{text}'."
        ) from None


def check_period(start: date, end: date, max_days: int) -> None:
    """Refuse a period that ends before it starts or is longer than ``max_days``."""
    if end < start:
        raise InvalidParameter(
            f"Parameter 'to' ({end.isoformat()}) is before 'from' ({start.isoformat()}); "
            "the period runs from 'from' to 'to', both days included."
        )
    days = (end - start).days + 1
    if days > max_days:
        raise InvalidParameter(
            f"Parameters 'from' and 'to' span {days} days; a period covers at most {max_days} days."
        )
