"""The monthly report (月度统计) as a self-contained HTML page (no scripts, no external assets).

A printable table document like the XLSX, not a map page: it lives in the core so that the
CLI and the API write the same file.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from geogrid.indicators.report import MonthlyReport

_ENV = Environment(
    loader=PackageLoader("geogrid.indicators", "templates"), autoescape=select_autoescape()
)


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render_monthly_report(report: MonthlyReport) -> str:
    """HTML of the month's tables, printable, Chinese headings."""
    return _ENV.get_template("monthly_report.html").render(report=report, cell=_cell)
