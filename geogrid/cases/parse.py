"""Validating a table of cases against the import contract (DOMAIN.md §3), column by column.

All checks are vectorised over the whole table and every problem is collected, so a refused
import lists each bad row with its column and reason at once. The result is a frame of
typed values in the shape of the ``cases`` table, ready to be copied into PostGIS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from geogrid.cases import columns as C
from geogrid.catalogue import Catalogue, Deadline
from geogrid.crs import gcj02_to_wgs84, parse_crs
from geogrid.errors import Problem, ValidationFailed
from geogrid.io.problems import FIRST_DATA_LINE, RowProblems
from geogrid.worktime import WorkCalendar

MAX_ID_LENGTH = 64
MAX_TEXT = 2000

#: CRS options of an import: the stored point is always EPSG:4326.
IMPORT_CRS = ("wgs84", "cgcs2000", "gcj02")


@dataclass(frozen=True)
class CaseTable:
    """Validated cases in the shape of the ``cases`` table (timestamps UTC, lon/lat WGS84)."""

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


def normalise_headers(frame: pd.DataFrame, shown: str) -> pd.DataFrame:
    """Rename headers to the contract (Chinese aliases accepted); refuse missing or doubled ones."""
    names = [C.canonical_header(str(h)) for h in frame.columns]
    known = set(C.COLUMNS) | set(C.EXTRA_COLUMNS)
    doubled = sorted({n for n in names if n in known and names.count(n) > 1})
    if doubled:
        raise ValidationFailed(
            f"'{shown}' names column(s) {', '.join(doubled)} more than once "
            "(perhaps both in English and in Chinese); keep one of each."
        )
    missing = [c for c in C.REQUIRED if c not in names]
    if missing:
        raise ValidationFailed(
            f"'{shown}' lacks the required column(s) {', '.join(missing)}; "
            f"the columns are: {', '.join(C.COLUMNS)} (Chinese headers such as 案卷号, 来源, "
            "小类, 经度, 纬度 are accepted too).",
            [Problem(f"column {c}", "missing_column", f"Column {c} is required.") for c in missing],
        )
    out = frame.copy()
    out.columns = names
    return out[[c for c in names if c in known]]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype(str).str.strip()


def _vocabulary(
    text: pd.Series,
    codes: dict[str, str] | tuple[str, ...],
    aliases: dict[str, str],
    problems: RowProblems,
    column: str,
) -> pd.Series:
    lookup = {**{c: c for c in codes}, **aliases}
    mapped = text.map(lambda v: lookup.get(v, lookup.get(v.lower())))
    bad = mapped.isna() & (text != "")
    problems.add_each(
        bad,
        column,
        "unknown_value",
        lambda i: f"'{text.iat[i]}' is not one of {', '.join(codes)}.",
    )
    return mapped


def _storable(parsed: pd.Series) -> pd.Series:
    """``parsed`` with the times a nanosecond timestamp cannot hold (years before 1678 or after
    2261; pandas parses them at a coarser unit) made NaT, so they are reported as bad."""
    years = parsed.dt.year
    return parsed.where((years > 1677) & (years < 2262))


def _timestamps(text: pd.Series, tz: str, problems: RowProblems, column: str) -> pd.Series:
    """Parse ISO-like timestamps; naive ones are local time in ``tz``. Returns UTC."""
    cleaned = text.str.replace("/", "-", regex=False)
    empty = cleaned == ""
    aware = cleaned.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True) & ~empty
    naive = ~aware & ~empty
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if naive.any():
        parsed = _storable(pd.to_datetime(cleaned[naive], format="ISO8601", errors="coerce"))
        local = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        out[naive] = local.dt.tz_convert("UTC")
    if aware.any():
        parsed = pd.to_datetime(cleaned[aware], format="ISO8601", errors="coerce", utc=True)
        out[aware] = _storable(parsed)
    bad = ~empty & out.isna()
    problems.add_each(
        bad,
        column,
        "bad_timestamp",
        lambda i: f"'{text.iat[i]}' is not a date and time (use e.g. 2026-10-01 08:30:00).",
    )
    return out


def _counts(text: pd.Series, problems: RowProblems, column: str) -> pd.Series:
    number = pd.to_numeric(text.where(text != "", "0"), errors="coerce")
    bad = number.isna() | (number < 0) | (number % 1 != 0) | (number > 1000)
    problems.add_each(
        bad, column, "bad_count", lambda i: f"'{text.iat[i]}' is not a whole number from 0."
    )
    return number.fillna(0).astype("int64")


def _flags(text: pd.Series, problems: RowProblems, column: str) -> pd.Series:
    lower = text.str.lower()
    true, false = lower.isin(C.TRUE_TEXT), lower.isin(C.FALSE_TEXT)
    problems.add_each(
        ~(true | false),
        column,
        "bad_flag",
        lambda i: f"'{text.iat[i]}' is not yes/no (true/false, 1/0, 是/否).",
    )
    return true


def _coordinates(
    frame: pd.DataFrame, crs: str, problems: RowProblems
) -> tuple[pd.Series, pd.Series, pd.Series | None, pd.Series | None]:
    lon_text, lat_text = _text(frame, "lon"), _text(frame, "lat")
    lon = pd.to_numeric(lon_text, errors="coerce")
    lat = pd.to_numeric(lat_text, errors="coerce")
    for name, text, value, limit in (("lon", lon_text, lon, 180), ("lat", lat_text, lat, 90)):
        problems.add(text == "", name, "missing_value", "is empty; every case needs a location.")
        bad = (text != "") & (value.isna() | ~np.isfinite(value) | (value.abs() > limit))

        def not_a_coordinate(i: int, t: pd.Series = text, lim: int = limit) -> str:
            return f"'{t.iat[i]}' is not a number in [-{lim}, {lim}]."

        problems.add_each(bad, name, "bad_coordinate", not_a_coordinate)
    swapped = lon.between(18, 54) & lat.between(73, 135)
    problems.add(swapped, "lon", "swapped_coordinates", "lon and lat look swapped (lat is > 73).")
    if crs == "gcj02":
        x, y = gcj02_to_wgs84(lon.fillna(0).to_numpy(), lat.fillna(0).to_numpy())
        return pd.Series(x, index=lon.index), pd.Series(y, index=lat.index), lon, lat
    return lon, lat, None, None


def _classes(
    frame: pd.DataFrame, catalogue: Catalogue, problems: RowProblems
) -> dict[str, pd.Series]:
    recorded = _text(frame, "sub_class")
    given_type = _vocabulary(
        _text(frame, "case_type"), C.CASE_TYPES, C.CASE_TYPE_ALIASES, problems, "case_type"
    )
    problems.add(recorded == "", "sub_class", "missing_value", "is empty.")

    def current(kind: str | None, code: str) -> tuple[str | None, str | None]:
        if not code:
            return None, None
        kinds = [kind] if kind else (["event", "component"] if len(code) != 5 else [])
        if not kind and len(code) == 5:
            kinds = ["component" if code[:2] <= "05" else "event", "event"]
        for k in kinds:
            mapped = catalogue.map_code(k, code)  # type: ignore[arg-type]
            if mapped is not None:
                return k, mapped
        return None, None

    pairs = pd.Series(list(zip(given_type.where(given_type.notna(), None), recorded, strict=True)))
    unique = {p: current(*p) for p in set(pairs)}
    kind = pairs.map(lambda p: unique[p][0])
    sub = pairs.map(lambda p: unique[p][1])
    kind.index = sub.index = frame.index
    unknown = sub.isna() & (recorded != "")
    problems.add_each(
        unknown,
        "sub_class",
        "unknown_sub_class",
        lambda i: (
            f"'{recorded.iat[i]}' is not a subclass of the catalogue (GB/T 47678.5, "
            "or a legacy GB/T 30428.2 / CJ/T 214 code)."
        ),
    )
    major_text = _text(frame, "major_class")
    legacy = sub.notna() & (sub != recorded)
    clash = (major_text != "") & sub.notna() & ~legacy & (major_text != sub.str[:2])
    problems.add_each(
        clash,
        "major_class",
        "major_mismatch",
        lambda i: f"'{major_text.iat[i]}' is not the major class of subclass {sub.iat[i]}.",
    )
    return {
        "case_type": kind,
        "sub_class": sub,
        "major_class": sub.str[:2],
        "sub_class_recorded": recorded.where(recorded != sub, None),
        "major_class_recorded": major_text.where(
            (major_text != "") & (major_text != sub.str[:2]), None
        ),
    }


def _workflow_order(
    stamps: dict[str, pd.Series], given: dict[str, pd.Series], problems: RowProblems, tz: str
) -> None:
    """Each workflow stamp, when present, is not before any earlier one (DOMAIN.md §3)."""
    latest = pd.Series(pd.NaT, index=stamps["reported_at"].index, dtype="datetime64[ns, UTC]")
    latest_name = pd.Series("", index=latest.index, dtype=object)
    for name in C.WORKFLOW:
        value = stamps[name]
        bad = value.notna() & latest.notna() & (value < latest)

        def too_early(
            i: int, v: pd.Series = value, w: pd.Series = latest, wn: pd.Series = latest_name
        ) -> str:
            return (
                f"{v.iat[i].tz_convert(tz):%Y-%m-%d %H:%M} is before "
                f"{wn.iat[i]} {w.iat[i].tz_convert(tz):%Y-%m-%d %H:%M}."
            )

        problems.add_each(bad, name, "workflow_order", too_early)
        later = value.notna() & (latest.isna() | (value > latest))
        latest = latest.where(~later, value)
        latest_name = latest_name.where(~later, name)
    registered = stamps["registered_at"]
    due = stamps["due_at"]
    problems.add(
        due.notna() & registered.notna() & (due < registered),
        "due_at",
        "due_before_registration",
        "is before registered_at.",
    )
    problems.add(
        ~given["registered_at"] & ~given["reported_at"],
        "registered_at",
        "missing_value",
        "is empty and so is reported_at; a case needs at least one of them.",
    )
    closed_early = ~given["registered_at"] & stamps["closed_at"].notna()
    problems.add(closed_early, "registered_at", "missing_value", "is empty but the case is closed.")


def parse_cases(
    frame: pd.DataFrame,
    *,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
    crs: str = "wgs84",
    shown: str = "cases",
    now: datetime | None = None,
) -> CaseTable:
    """Validate a table of cases (text cells) and return typed values.

    Parameters
    ----------
    frame
        Text cells with contract headers or their Chinese aliases (see ``columns``).
    catalogue
        Maps legacy subclass codes (kept in ``sub_class_recorded``) and gives deadlines and
        default departments.
    calendar
        Working-time calendar for ``due_at`` when a case arrives without one: the
        subclass's deadline for its urgency, counted from dispatch (or registration).
    tz
        Zone of naive timestamps.
    crs
        ``wgs84`` (also for CGCS2000, which agrees within centimetres) or ``gcj02``
        (converted; the given coordinates are kept in ``recorded_lon``/``recorded_lat``).
    now
        Timestamps more than a day after ``now`` are refused (default: the current time).

    Raises
    ------
    ValidationFailed
        With one problem per bad cell (row = line of the sheet, header = line 1).
    """
    if crs not in IMPORT_CRS:
        parse_crs(crs)  # a clear error for a CRS nobody knows
        raise ValidationFailed(
            f"Cases are accepted in {', '.join(IMPORT_CRS)}, not '{crs}': "
            "convert projected coordinates to longitude/latitude first."
        )
    frame = normalise_headers(frame, shown).reset_index(drop=True)
    problems = RowProblems()
    out: dict[str, pd.Series] = {}

    case_id = _text(frame, "case_id")
    problems.add(case_id == "", "case_id", "missing_value", "is empty.")
    problems.add(
        case_id.str.len() > MAX_ID_LENGTH,
        "case_id",
        "too_long",
        f"is longer than {MAX_ID_LENGTH} characters.",
    )
    first_line = case_id.reset_index().groupby("case_id")["index"].transform("min")
    doubled = case_id.duplicated(keep="first") & (case_id != "")
    problems.add_each(
        doubled,
        "case_id",
        "duplicate_case_id",
        lambda i: (
            f"'{case_id.iat[i]}' appears already on row {int(first_line.iat[i]) + FIRST_DATA_LINE}."
        ),
    )
    out["case_id"] = case_id

    source = _vocabulary(_text(frame, "source"), C.SOURCES, C.SOURCE_ALIASES, problems, "source")
    problems.add(_text(frame, "source") == "", "source", "missing_value", "is empty.")
    out["source"] = source
    platform = _vocabulary(
        _text(frame, "platform"), C.PLATFORMS, C.PLATFORM_ALIASES, problems, "platform"
    )
    default_platform = np.where(source == "city_supervisor", "city", "district")
    out["platform"] = platform.where(platform.notna(), pd.Series(default_platform))
    out.update(_classes(frame, catalogue, problems))
    urgency = _vocabulary(
        _text(frame, "urgency"), ("normal", "urgent"), C.URGENCY_ALIASES, problems, "urgency"
    )
    out["urgency"] = urgency.fillna("normal")

    for name in ("description", "department", "component_code"):
        text = _text(frame, name)
        limit = MAX_TEXT if name == "description" else 200
        problems.add(
            text.str.len() > limit, name, "too_long", f"is longer than {limit} characters."
        )
        out[name] = text.where(text != "", None)

    lon, lat, recorded_lon, recorded_lat = _coordinates(frame, crs, problems)
    out["lon"], out["lat"] = lon, lat
    out["recorded_lon"] = recorded_lon if recorded_lon is not None else pd.Series(None, lon.index)
    out["recorded_lat"] = recorded_lat if recorded_lat is not None else pd.Series(None, lon.index)
    out["recorded_crs"] = pd.Series("gcj02" if crs == "gcj02" else None, index=lon.index)

    stamps = {name: _timestamps(_text(frame, name), tz, problems, name) for name in C.TIMESTAMPS}
    limit = pd.Timestamp(now or datetime.now().astimezone()).tz_convert("UTC") + pd.Timedelta(
        days=1
    )
    for name, value in stamps.items():
        if name != "due_at":
            problems.add(value > limit, name, "in_future", "lies in the future.")
    given = {name: _text(frame, name) != "" for name in C.TIMESTAMPS}
    _workflow_order(stamps, given, problems, tz)
    out.update(stamps)

    out["rework_count"] = _counts(_text(frame, "rework_count"), problems, "rework_count")
    out["returned_count"] = _counts(_text(frame, "returned_count"), problems, "returned_count")
    out["extended"] = _flags(_text(frame, "extended"), problems, "extended")
    out["postponed"] = _flags(_text(frame, "postponed"), problems, "postponed")
    out["satisfaction"] = _vocabulary(
        _text(frame, "satisfaction"),
        C.SATISFACTION,
        C.SATISFACTION_ALIASES,
        problems,
        "satisfaction",
    )
    problems.raise_if_any(shown)

    result = pd.DataFrame(out)
    _fill_defaults(result, catalogue, calendar)
    return CaseTable(result)


def _fill_defaults(frame: pd.DataFrame, catalogue: Catalogue, calendar: WorkCalendar) -> None:
    """Department and due time from the catalogue where the case arrives without them.

    ``department_given`` records which cases came with a department: the others are
    dispatched by the responsibility rules when stored (``geogrid.dispatch``), the
    catalogue's department being the fallback when no rule matches.
    """
    keys = list(zip(frame["case_type"], frame["sub_class"], frame["urgency"], strict=True))
    items = {k: catalogue.find(k[0], k[1]) for k in set(keys)}
    no_department = frame["department"].isna()
    frame["department_given"] = ~no_department
    if no_department.any():
        default = pd.Series([getattr(items[k], "department", None) for k in keys])
        frame.loc[no_department, "department"] = default[no_department]
    start = frame["dispatched_at"].where(frame["dispatched_at"].notna(), frame["registered_at"])
    todo = frame["due_at"].isna() & start.notna()
    if not todo.any():
        return
    index = np.flatnonzero(todo.to_numpy())
    deadlines: list[Deadline] = []
    for i in index:
        item = items[keys[i]]
        assert item is not None  # every sub_class was found in the catalogue above
        deadlines.append(item.deadline_urgent if keys[i][2] == "urgent" else item.deadline_normal)
    starts = [ts.to_pydatetime() for ts in start.iloc[index].dt.tz_convert(calendar.tz)]
    due = calendar.add_many(starts, deadlines)
    frame.loc[frame.index[index], "due_at"] = pd.to_datetime(due, utc=True)
