"""Sanitation companies (环卫公司) and their vehicles and crews (issue 10).

A company has a contract period; its ``name`` is the responsible unit that responsibility rules
of unit kind ``company`` name, so dispatch writes it into ``cases.department``. A *tracker* is a
vehicle (sweeper, washer, garbage truck) or a crew with the device that sends its fixes: fixes
go through the supervisors' ingest (``POST /tracks`` with the tracker's id or device), so a
tracker's id and device must differ from every supervisor's (migration 0012).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound, Problem, ValidationFailed
from geogrid.io.sheets import read_table
from geogrid.sanitation.rules import TRACKER_KIND_ALIASES, TRACKER_KINDS

ID_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}$")
COMPANY_ALIASES = {
    "id": ("id", "company_id", "编号", "公司编号"),
    "name": ("name", "company", "公司", "公司名称", "单位名称", "名称"),
    "contract_from": ("contract_from", "from", "合同开始", "合同起始日期", "起始日期"),
    "contract_to": ("contract_to", "to", "合同结束", "合同截止日期", "截止日期"),
    "contact": ("contact", "联系人"),
    "phone": ("phone", "电话", "联系电话"),
    "note": ("note", "备注"),
}
TRACKER_ALIASES = {
    "id": ("id", "tracker_id", "vehicle_id", "crew_id", "编号", "车辆编号", "班组编号"),
    "company": ("company", "company_id", "公司", "所属公司", "公司编号"),
    "kind": ("kind", "type", "类型", "车辆类型"),
    "name": ("name", "plate", "车牌", "车牌号", "名称", "班组名称"),
    "device_id": ("device_id", "device", "设备号", "终端号"),
    "members": ("members", "人数", "班组人数"),
}


@dataclass(frozen=True)
class CompanySpec:
    """A company as registered: id, name (the responsible unit), contract period (days)."""

    id: str
    name: str
    contract_from: date
    contract_to: date | None = None
    contact: str | None = None
    phone: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TrackerSpec:
    """A vehicle or crew: id, company (id or name), kind, name (plate number), device."""

    id: str
    company: str
    kind: str
    name: str
    device_id: str | None = None
    members: int | None = None


def district_code(conn: Connection) -> str:
    """The one district of the database (sanitation data belong to it)."""
    codes = conn.execute(sa.text("SELECT code FROM districts ORDER BY code")).scalars().all()
    if len(codes) != 1:
        raise InvalidParameter(
            f"Sanitation data need exactly one district in the database, found {len(codes)}."
        )
    return str(codes[0])


def _problem(where: str, rule: str, text: str) -> Problem:
    return Problem(where, rule, f"{where[:1].upper()}{where[1:]}: {text}")


def _doubled(values: Sequence[str | None]) -> list[str]:
    counts = Counter(v for v in values if v is not None)
    return sorted(v for v, n in counts.items() if n > 1)


def register_companies(conn: Connection, specs: Sequence[CompanySpec], *, shown: str) -> int:
    """Insert or update companies in the caller's transaction; the number written.

    Raises
    ------
    ValidationFailed
        Naming every bad company (id, empty name, contract ending before it starts, a name or
        id given twice, a name another company already has); nothing is written.
    """
    district = district_code(conn)
    problems: list[Problem] = []
    for i, s in enumerate(specs, start=1):
        where = f"company {s.id or i}"
        if not ID_PATTERN.match(s.id):
            problems.append(_problem(where, "bad_id", "the id is 1–64 letters, digits, . - _."))
        if not s.name.strip():
            problems.append(_problem(where, "missing_name", "the name is empty."))
        if s.contract_to is not None and s.contract_to < s.contract_from:
            problems.append(_problem(where, "bad_contract", "the contract ends before it starts."))
    for what, values in (("id", [s.id for s in specs]), ("name", [s.name for s in specs])):
        problems += [
            _problem(f"company {what} {v}", f"duplicate_{what}", "is given more than once.")
            for v in _doubled(values)
        ]
    taken = conn.execute(
        sa.text(
            "SELECT name, id FROM sanitation_companies WHERE district_code = :d "
            "AND name = ANY(:names)"
        ),
        {"d": district, "names": [s.name for s in specs]},
    ).all()
    owner = {name: cid for name, cid in taken}
    problems += [
        _problem(
            f"company {s.id}", "name_taken", f"'{s.name}' is the name of company {owner[s.name]}."
        )
        for s in specs
        if s.name in owner and owner[s.name] != s.id
    ]
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not stored: {problems[0].message} Nothing was written.", problems
        )
    for s in specs:
        conn.execute(
            sa.text(
                "INSERT INTO sanitation_companies (district_code, id, name, contract_from, "
                "contract_to, contact, phone, note) VALUES (:d, :id, :name, :cf, :ct, :contact, "
                ":phone, :note) ON CONFLICT (district_code, id) DO UPDATE SET "
                "name = EXCLUDED.name, contract_from = EXCLUDED.contract_from, "
                "contract_to = EXCLUDED.contract_to, contact = EXCLUDED.contact, "
                "phone = EXCLUDED.phone, note = EXCLUDED.note, updated_at = now()"
            ),
            {
                "d": district,
                "id": s.id,
                "name": s.name.strip(),
                "cf": s.contract_from,
                "ct": s.contract_to,
                "contact": s.contact,
                "phone": s.phone,
                "note": s.note,
            },
        )
    return len(specs)


def company_ids(conn: Connection) -> dict[str, str]:
    """Company id and name → id (a tracker or area may name its company either way)."""
    rows = conn.execute(sa.text("SELECT id, name FROM sanitation_companies")).all()
    return {**{str(n): str(i) for i, n in rows}, **{str(i): str(i) for i, _ in rows}}


def register_trackers(conn: Connection, specs: Sequence[TrackerSpec], *, shown: str) -> int:
    """Insert or update vehicles and crews in the caller's transaction; the number written.

    Raises
    ------
    ValidationFailed
        Naming every bad tracker (id, kind, unknown company, empty name, an id or device given
        twice, or already a supervisor's, a device of another tracker); nothing is written.
    """
    district = district_code(conn)
    companies = company_ids(conn)
    problems: list[Problem] = []
    for i, s in enumerate(specs, start=1):
        where = f"tracker {s.id or i}"
        if not ID_PATTERN.match(s.id):
            problems.append(_problem(where, "bad_id", "the id is 1–64 letters, digits, . - _."))
        if s.kind not in TRACKER_KIND_ALIASES:
            problems.append(
                _problem(where, "bad_kind", f"'{s.kind}' is not one of {', '.join(TRACKER_KINDS)}.")
            )
        if s.company not in companies:
            problems.append(
                _problem(where, "unknown_company", f"'{s.company}' is not a registered company.")
            )
        if not s.name.strip():
            problems.append(_problem(where, "missing_name", "the name (plate number) is empty."))
        if s.members is not None and s.members < 1:
            problems.append(_problem(where, "bad_members", "a crew has at least one member."))
    problems += [
        _problem(f"tracker {v}", "duplicate_id", "is given more than once.")
        for v in _doubled([s.id for s in specs])
    ]
    problems += [
        _problem(f"device {v}", "duplicate_device", "is given to more than one tracker.")
        for v in _doubled([s.device_id for s in specs])
    ]
    ids, devices = [s.id for s in specs], [s.device_id for s in specs if s.device_id]
    for sid, device in conn.execute(
        sa.text(
            "SELECT id, device_id FROM supervisors WHERE id = ANY(:ids) OR device_id = ANY(:dev)"
        ),
        {"ids": ids, "dev": devices},
    ):
        if sid in ids:
            problems.append(_problem(f"tracker {sid}", "id_taken", "is a supervisor's id."))
        if device in devices:
            problems.append(
                _problem(f"device {device}", "device_taken", f"is supervisor {sid}'s device.")
            )
    for tid, device in conn.execute(
        sa.text("SELECT id, device_id FROM sanitation_trackers WHERE device_id = ANY(:dev)"),
        {"dev": devices},
    ):
        mine = next(s.id for s in specs if s.device_id == device)
        if tid != mine:
            problems.append(
                _problem(f"device {device}", "device_taken", f"is tracker {tid}'s device.")
            )
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not stored: {problems[0].message} Nothing was written.", problems
        )
    for s in specs:
        conn.execute(
            sa.text(
                "INSERT INTO sanitation_trackers (district_code, id, company_id, kind, name, "
                "device_id, members) VALUES (:d, :id, :company, :kind, :name, :device, "
                ":members) ON CONFLICT (district_code, id) DO UPDATE SET "
                "company_id = EXCLUDED.company_id, kind = EXCLUDED.kind, name = EXCLUDED.name, "
                "device_id = EXCLUDED.device_id, members = EXCLUDED.members, updated_at = now()"
            ),
            {
                "d": district,
                "id": s.id,
                "company": companies[s.company],
                "kind": TRACKER_KIND_ALIASES[s.kind],
                "name": s.name.strip(),
                "device": s.device_id,
                "members": s.members,
            },
        )
    return len(specs)


_COMPANIES = """
SELECT c.id, c.name, c.contract_from, c.contract_to, c.contact, c.phone, c.note,
       (SELECT count(*) FROM sanitation_areas a WHERE a.district_code = c.district_code
          AND a.company_id = c.id) AS areas,
       (SELECT count(*) FROM sanitation_segments s JOIN sanitation_areas a
          ON a.district_code = s.district_code AND a.id = s.area_id
        WHERE a.district_code = c.district_code AND a.company_id = c.id) AS segments,
       (SELECT round(coalesce(sum(s.length_m), 0)::numeric / 1000, 2) FROM sanitation_segments s
        JOIN sanitation_areas a ON a.district_code = s.district_code AND a.id = s.area_id
        WHERE a.district_code = c.district_code AND a.company_id = c.id) AS road_km,
       (SELECT coalesce(jsonb_object_agg(kind, n), '{{}}') FROM (
          SELECT kind, count(*) AS n FROM sanitation_trackers t
          WHERE t.district_code = c.district_code AND t.company_id = c.id GROUP BY kind) k
       ) AS trackers
FROM sanitation_companies c
{where}
ORDER BY c.id
"""


def _company_row(r: Any) -> dict[str, Any]:
    out = dict(r)
    out["road_km"] = float(out["road_km"])
    for key in ("contract_from", "contract_to"):
        out[key] = out[key].isoformat() if out[key] else None
    return out


def list_companies(conn: Connection) -> list[dict[str, Any]]:
    """Every company with its areas, segments, road kilometres and trackers by kind."""
    rows = conn.execute(sa.text(_COMPANIES.format(where=""))).mappings()
    return [_company_row(r) for r in rows]


def get_company(conn: Connection, company: str) -> dict[str, Any]:
    """One company (by id or name); NotFound when unknown."""
    row = (
        conn.execute(
            sa.text(_COMPANIES.format(where="WHERE c.id = :c OR c.name = :c")), {"c": company}
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"There is no sanitation company '{company}'.")
    return _company_row(row)


def list_trackers(conn: Connection, *, company: str | None = None) -> list[dict[str, Any]]:
    """Vehicles and crews (of one company, by id or name), with their company's name."""
    if company is not None:
        company = get_company(conn, company)["id"]
    rows = conn.execute(
        sa.text(
            "SELECT t.id, t.kind, t.name, t.device_id, t.members, t.company_id, "
            "c.name AS company_name FROM sanitation_trackers t JOIN sanitation_companies c "
            "ON c.district_code = t.district_code AND c.id = t.company_id "
            "WHERE CAST(:c AS text) IS NULL OR t.company_id = :c ORDER BY t.company_id, t.id"
        ),
        {"c": company},
    ).mappings()
    return [dict(r) | {"kind_name": TRACKER_KINDS[r["kind"]]} for r in rows]


def _columns(frame: Any, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    found = {}
    for target, names in aliases.items():
        for name in names:
            if name.lower() in lower:
                found[target] = lower[name.lower()]
                break
    return found


def _day(text: str, where: str, column: str, problems: list[Problem]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        problems.append(_problem(f"{where}, {column}", "bad_date", f"'{text}' is not a day."))
        return None


def read_companies(path: Path) -> list[CompanySpec]:
    """Companies of a CSV/XLSX table (``id, name, contract_from, contract_to, contact, phone,
    note``; Chinese headers accepted). Raises ValidationFailed naming the row of a bad day."""
    frame = read_table(path, name=path.name)
    cols = _columns(frame, COMPANY_ALIASES)
    problems: list[Problem] = []
    specs = []
    for i, row in enumerate(frame.to_dict("records"), start=2):
        cell = {k: str(row.get(c, "")).strip() for k, c in cols.items()}
        start = _day(cell.get("contract_from", ""), f"row {i}", "contract_from", problems)
        end = _day(cell.get("contract_to", ""), f"row {i}", "contract_to", problems)
        if start is None and not cell.get("contract_from"):
            problems.append(_problem(f"row {i}, contract_from", "missing_value", "is empty."))
        specs.append(
            CompanySpec(
                id=cell.get("id", ""),
                name=cell.get("name", ""),
                contract_from=start or date.min,
                contract_to=end,
                contact=cell.get("contact") or None,
                phone=cell.get("phone") or None,
                note=cell.get("note") or None,
            )
        )
    if problems:
        raise ValidationFailed(f"'{path.name}' was not imported: {problems[0].message}", problems)
    return specs


def read_trackers(path: Path) -> list[TrackerSpec]:
    """Vehicles and crews of a CSV/XLSX table (``id, company, kind, name, device_id,
    members``; Chinese headers accepted). Raises ValidationFailed naming the row of a bad
    member count."""
    frame = read_table(path, name=path.name)
    cols = _columns(frame, TRACKER_ALIASES)
    problems: list[Problem] = []
    specs = []
    for i, row in enumerate(frame.to_dict("records"), start=2):
        cell = {k: str(row.get(c, "")).strip() for k, c in cols.items()}
        members = None
        if cell.get("members"):
            try:
                members = int(cell["members"])
            except ValueError:
                problems.append(
                    _problem(
                        f"row {i}, members",
                        "bad_number",
                        f"'{cell['members']}' is not a whole number.",
                    )
                )
        specs.append(
            TrackerSpec(
                id=cell.get("id", ""),
                company=cell.get("company", ""),
                kind=cell.get("kind", ""),
                name=cell.get("name", ""),
                device_id=cell.get("device_id") or None,
                members=members,
            )
        )
    if problems:
        raise ValidationFailed(f"'{path.name}' was not imported: {problems[0].message}", problems)
    return specs
