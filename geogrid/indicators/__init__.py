"""Indicators of cases per grid, community, street, district, department, source, subclass.

The definitions are those of DOMAIN.md §4; the public surface is :func:`compute_indicators`,
:func:`compute_shares`, :func:`monthly_report` and the indicator layers of the map.
"""

from __future__ import annotations

from geogrid.indicators.engine import IndicatorTable, compute_indicators
from geogrid.indicators.params import IndicatorQuery, Period
from geogrid.indicators.report import MonthlyReport, monthly_report
from geogrid.indicators.shares import Shares, compute_shares

__all__ = [
    "IndicatorQuery",
    "IndicatorTable",
    "MonthlyReport",
    "Period",
    "Shares",
    "compute_indicators",
    "compute_shares",
    "monthly_report",
]
