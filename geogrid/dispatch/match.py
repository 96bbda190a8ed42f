"""Dispatch (派遣): the responsible unit of a case from its place, subclass and time, and why.

The most specific current rule valid at the case's time wins (order in
:mod:`geogrid.dispatch.rules`); when none matches, the catalogue's default department of the
subclass (CATALOGUE.md) is used and the reason says so. :func:`dispatch` answers one point;
:func:`dispatch_many` and :func:`dispatch_located` answer a whole table in one SQL statement.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.catalogue import Catalogue
from geogrid.db.copy import copy_csv_in, copy_csv_out
from geogrid.dispatch import sql as Q
from geogrid.dispatch.rules import CATALOGUE_RULE, reason
from geogrid.errors import InvalidParameter


@dataclass(frozen=True)
class Dispatch:
    """The unit a case goes to, the rule that chose it (None: catalogue default) and why."""

    unit: str | None
    unit_kind: str | None
    rule_id: str | None
    reason: str
    reason_en: str
    case_type: str
    sub_class: str
    rule: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "unit_kind": self.unit_kind,
            "rule_id": self.rule_id,
            "case_type": self.case_type,
            "sub_class": self.sub_class,
            "reason": {"zh": self.reason, "en": self.reason_en},
            "rule": self.rule,
        }


def case_type_of(sub_class: str, case_type: str | None) -> str:
    """The given case type, else component for classes 01–05 and event from 06 on."""
    if case_type is not None:
        return case_type
    return "component" if sub_class[:2] <= "05" else "event"


def _subclass(catalogue: Catalogue, sub_class: str, case_type: str | None) -> tuple[str, str]:
    kind = case_type_of(sub_class, case_type)
    mapped = catalogue.map_code(kind, sub_class)  # type: ignore[arg-type]
    if mapped is None and case_type is None and kind == "component":
        kind, mapped = "event", catalogue.map_code("event", sub_class)
    if mapped is None:
        raise InvalidParameter(
            f"'{sub_class}' is not a {case_type or 'component or event'} subclass of the "
            "catalogue (GB/T 47678.5, or a legacy code)."
        )
    return kind, mapped


def dispatch(
    conn: Connection,
    lon: float,
    lat: float,
    sub_class: str,
    at: datetime | None = None,
    *,
    catalogue: Catalogue,
    case_type: str | None = None,
    tz: str = "Asia/Shanghai",
) -> Dispatch:
    """The responsible unit of a case at (``lon``, ``lat``) of ``sub_class``, and the reason.

    Parameters
    ----------
    lon, lat
        The case's position, EPSG:4326 degrees.
    sub_class
        Its 5-digit subclass (legacy codes are mapped).
    at
        When it is dispatched (default now); naive times are local time in ``tz``.
    case_type
        ``component`` or ``event``; default component for 01–05, event from 06 on.

    Raises
    ------
    InvalidParameter
        For a subclass the catalogue does not know.
    """
    kind, code = _subclass(catalogue, sub_class, case_type)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(tz))
    moment = at or conn.execute(sa.text("SELECT now()")).scalar_one()
    params = {"lon": lon, "lat": lat, "case_type": kind, "sub_class": code, "at": moment}
    rule_code = conn.execute(sa.text(Q.DISPATCH_ONE), params).scalar_one_or_none()
    if rule_code is None:
        item = catalogue.find(kind, code)  # type: ignore[arg-type]
        unit = item.department if item else None
        zh, en = reason(None, unit=unit, sub_class=code, case_type=kind, catalogue=catalogue)
        return Dispatch(unit, "department" if unit else None, None, zh, en, kind, code)
    rule = dict(conn.execute(sa.text(Q.RULE), {"code": rule_code}).mappings().one())
    rule.pop("area")
    rule.pop("geom")
    zh, en = reason(rule, unit=rule["unit"], sub_class=code, case_type=kind, catalogue=catalogue)
    return Dispatch(rule["unit"], rule["unit_kind"], rule_code, zh, en, kind, code, rule)


def dispatch_table(source: str) -> str:
    """SQL selecting ``key, rule, unit, unit_kind`` for every row of the relation ``source``.

    ``source`` (a table name or a parenthesised subquery) has ``key``, ``district_code``,
    ``geom`` (Point, 4326), ``case_type``, ``sub_class`` and ``at``; ``rule`` is NULL where no
    rule matches. One statement: a lateral join on the rules' GiST index, the points taken
    by subclass and place (:data:`geogrid.dispatch.sql.NEAR_FIRST`).
    """
    return (
        f"SELECT s.key, b.code AS rule, b.unit, b.unit_kind "
        f"FROM (SELECT * FROM {source} x ORDER BY {Q.NEAR_FIRST.format(p='x')}) s "
        f"LEFT JOIN LATERAL ({Q.best_rule('responsibility_rules', 's', current=True)}) b ON true"
    )


def dispatch_many(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    catalogue: Catalogue,
    at: datetime | None = None,
) -> pd.DataFrame:
    """Dispatch many cases at once: one COPY in, one statement, one COPY out.

    Parameters
    ----------
    frame
        ``lon``, ``lat`` (EPSG:4326), ``sub_class`` (current 5-digit codes), optionally
        ``case_type`` and ``at`` (timestamps with zone; default ``at``, else now).

    Returns
    -------
    DataFrame
        ``unit``, ``unit_kind`` and ``rule_id`` (None: the catalogue's default department)
        for every row of ``frame``, in its order and index.
    """
    sub = frame["sub_class"].astype(str).to_numpy(dtype=object)
    given = frame["case_type"] if "case_type" in frame else pd.Series(None, index=frame.index)
    kind = np.where(
        given.notna().to_numpy(),
        given.to_numpy(dtype=object),
        np.where(pd.Series(sub).str[:2].to_numpy(dtype=object) <= "05", "component", "event"),
    )
    staged = pd.DataFrame(
        {
            "key": np.arange(len(frame)),
            "lon": frame["lon"].to_numpy(float),
            "lat": frame["lat"].to_numpy(float),
            "case_type": kind,
            "sub_class": sub,
        }
    )
    if "at" in frame:
        staged["at"] = (
            pd.to_datetime(frame["at"], utc=True)
            .dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            .to_numpy()
        )
    conn.execute(sa.text("DROP TABLE IF EXISTS dispatch_input"))
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE dispatch_input (key integer, lon double precision, "
            "lat double precision, case_type text, sub_class text, at timestamptz) "
            "ON COMMIT DROP"
        )
    )
    buffer = io.StringIO()
    staged.to_csv(buffer, header=False, index=False)  # floats as repr: exact and fast
    buffer.seek(0)
    copy_csv_in(conn, "dispatch_input", tuple(staged.columns), buffer)
    districts = conn.execute(sa.text("SELECT code FROM districts")).scalars().all()
    # With one district, a point outside it lies outside every rule's area anyway.
    district = (
        "CAST(%(district)s AS text)"
        if len(districts) == 1
        else "(SELECT code FROM districts d WHERE ST_Intersects(d.geom, "
        "ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)) ORDER BY code LIMIT 1)"
    )
    source = (
        f"(SELECT i.key, {district} AS district_code, i.case_type, i.sub_class, "
        "coalesce(i.at, CAST(%(at)s AS timestamptz), now()) AS at, "
        "ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) AS geom FROM dispatch_input i)"
    )
    params = {"district": districts[0] if districts else None, "at": at}
    text = copy_csv_out(conn, dispatch_table(source) + " ORDER BY s.key", params)
    out = pd.read_csv(text, dtype=str, keep_default_na=False, na_values=[""]).astype(object)
    out = out.where(out.notna(), None)
    defaults = {
        (k, s): getattr(catalogue.find(k, s), "department", None)
        for k, s in set(zip(kind, sub, strict=True))
    }
    fallback = pd.Series([defaults[p] for p in zip(kind, sub, strict=True)], dtype=object)
    none = out["rule"].isna()
    out["unit"] = out["unit"].where(~none, fallback)
    out["unit_kind"] = out["unit_kind"].where(~none, fallback.notna().map({True: "department"}))
    result = pd.DataFrame(
        {"unit": out["unit"], "unit_kind": out["unit_kind"], "rule_id": out["rule"]},
        dtype=object,
    )
    result.index = frame.index
    return result.where(result.notna(), None)


#: Cases staged by :mod:`geogrid.cases.store` that arrived without a department.
_LOCATED = (
    "(SELECT line AS key, coalesce(cur_district, reg_district) AS district_code, geom, "
    "case_type, sub_class, coalesce(dispatched_at, registered_at, reported_at, now()) AS at "
    "FROM case_located WHERE NOT department_given)"
)


def dispatch_located(conn: Connection) -> None:
    """Dispatch the staged cases without a department (``case_located``), in one statement.

    A matching rule sets ``department`` and ``dispatch_rule``; otherwise the department stays
    the catalogue's default (filled when parsed) and ``dispatch_rule`` is ``catalogue``. The
    rules valid when the case was dispatched (else registered, else reported) apply.
    """
    conn.execute(
        sa.text(
            "UPDATE case_located l SET department = coalesce(m.unit, l.department), "
            f"dispatch_rule = coalesce(m.rule, '{CATALOGUE_RULE}') "
            f"FROM ({dispatch_table(_LOCATED)}) m WHERE l.line = m.key"
        )
    )
