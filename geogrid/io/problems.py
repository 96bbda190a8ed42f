"""Collecting every problem of a table, cell by cell, before refusing it as a whole."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from geogrid.errors import Problem, ValidationFailed

MAX_LISTED = 1000  # problems listed in one refusal; the rest are counted
FIRST_DATA_LINE = 2  # line 1 of a sheet is the header


class RowProblems:
    """Problems found so far, by sheet line (row ``i`` of a frame is line ``i + 2``) and column."""

    def __init__(self, first_line: int = FIRST_DATA_LINE) -> None:
        self.first_line = first_line
        self.items: list[tuple[int, str, str, str]] = []

    def add(self, mask: np.ndarray | pd.Series, column: str, rule: str, reason: str) -> None:
        """One problem per row where ``mask`` holds, with the same reason."""
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.items.append((int(i) + self.first_line, column, rule, reason))

    def add_each(
        self, mask: np.ndarray | pd.Series, column: str, rule: str, reason: Callable[[int], str]
    ) -> None:
        """One problem per row where ``mask`` holds; ``reason(i)`` words it for row ``i``."""
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.items.append((int(i) + self.first_line, column, rule, reason(int(i))))

    def raise_if_any(self, shown: str) -> None:
        """Refuse the table, listing every problem (up to :data:`MAX_LISTED`)."""
        if not self.items:
            return
        self.items.sort()
        rows = len({line for line, *_ in self.items})
        problems = [
            Problem(f"row {line}, column {column}", rule, f"Row {line}, {column}: {reason}")
            for line, column, rule, reason in self.items[:MAX_LISTED]
        ]
        if len(self.items) > MAX_LISTED:
            more = f"{len(self.items) - MAX_LISTED} more problem(s) not listed."
            problems.append(Problem(f"'{shown}'", "more_problems", more))
        raise ValidationFailed(
            f"'{shown}' was not imported: {rows} row(s) have problems; nothing was written. "
            f"First: {problems[0].message}",
            problems,
        )
