"""Supervisors (监督员), their assigned grids (定岗) and shifts (DOMAIN.md §5).

An assignment is a set of grids valid from a day: registering a supervisor again with another
set closes the grids that left on that day and opens the new ones, so the history of who was
responsible for which grid on any day is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound, Problem, ValidationFailed
from geogrid.io.sheets import read_table

LEVELS = {"city": "市级监督员", "district": "区级监督员"}
DEFAULT_SHIFT = (time(8, 0), time(18, 0))


@dataclass(frozen=True)
class SupervisorSpec:
    """A supervisor as registered: identity, level, device, assigned grids and shift."""

    id: str
    name: str
    level: str = "district"
    device_id: str | None = None
    phone: str | None = None
    grids: tuple[str, ...] = ()
    shift_start: time = DEFAULT_SHIFT[0]
    shift_end: time = DEFAULT_SHIFT[1]
    valid_from: date = field(default_factory=date.today)

    def problems(self, where: str) -> list[Problem]:
        """What is wrong with the spec itself (before the database is asked)."""
        found = []
        if not re.fullmatch(r"[\w.\-]{1,64}", self.id):
            found.append(("id", "is 1 to 64 letters, digits, '.', '-' or '_'"))
        if not self.name.strip():
            found.append(("name", "is empty"))
        if self.level not in LEVELS:
            found.append(("level", f"'{self.level}' is not city or district"))
        offset = [c for c in ("shift_start", "shift_end") if getattr(self, c).tzinfo is not None]
        found += [(c, "has a UTC offset; give the local time of day") for c in offset]
        if not offset and self.shift_end <= self.shift_start:
            found.append(("shift_end", "is not after shift_start"))
        bad = [g for g in self.grids if not re.fullmatch(r"\d{14,15}", g)]
        if bad:
            found.append(("grids", f"{', '.join(bad[:5])} are not grid codes"))
        return [
            Problem(
                f"{where}, {column}",
                f"bad_{column}",
                f"{where[:1].upper()}{where[1:]}, {column}: {text}.",
            )
            for column, text in found
        ]


def _district(conn: Connection, grids: tuple[str, ...]) -> str:
    rows = (
        conn.execute(
            sa.text(
                "SELECT DISTINCT district_code FROM grids WHERE valid_to IS NULL AND code = ANY(:g)"
            ),
            {"g": list(grids)},
        )
        .scalars()
        .all()
    )
    if len(rows) == 1:
        return str(rows[0])
    districts = conn.execute(sa.text("SELECT code FROM districts")).scalars().all()
    if len(districts) == 1 and not rows:
        return str(districts[0])
    raise InvalidParameter("A supervisor's grids must lie in one district of the database.")


def register_supervisors(conn: Connection, specs: list[SupervisorSpec], *, shown: str) -> int:
    """Insert or update supervisors and their assignments in the caller's transaction.

    Raises
    ------
    ValidationFailed
        Listing every bad supervisor (malformed field, unknown grid, doubled id or device).
    """
    problems: list[Problem] = []
    for i, spec in enumerate(specs, start=1):
        problems += spec.problems(f"supervisor {spec.id or i}")
    ids = [s.id for s in specs]
    devices = [s.device_id for s in specs if s.device_id]
    for doubled in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(
            Problem(
                f"supervisor {doubled}",
                "duplicate_id",
                f"Supervisor {doubled} appears more than once.",
            )
        )
    for doubled in sorted({x for x in devices if devices.count(x) > 1}):
        problems.append(
            Problem(
                f"device {doubled}",
                "duplicate_device",
                f"Device {doubled} is given to more than one supervisor.",
            )
        )
    wanted = sorted({g for s in specs for g in s.grids})
    known = set(
        conn.execute(
            sa.text("SELECT code FROM grids WHERE valid_to IS NULL AND code = ANY(:g)"),
            {"g": wanted},
        ).scalars()
    )
    for spec in specs:
        missing = [g for g in spec.grids if g not in known]
        if missing:
            problems.append(
                Problem(
                    f"supervisor {spec.id}, grids",
                    "unknown_grid",
                    f"Supervisor {spec.id}, grids: {', '.join(missing[:10])} are not current "
                    "unit grids of the district.",
                )
            )
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not imported: {problems[0].message} Nothing was written.", problems
        )
    for spec in specs:
        _upsert(conn, spec, _district(conn, spec.grids))
    return len(specs)


def _upsert(conn: Connection, spec: SupervisorSpec, district: str) -> None:
    params: dict[str, Any] = {
        "d": district,
        "id": spec.id,
        "name": spec.name,
        "level": spec.level,
        "device": spec.device_id,
        "phone": spec.phone,
        "start": spec.shift_start,
        "end": spec.shift_end,
        "from": spec.valid_from,
        "grids": list(spec.grids),
    }
    conn.execute(
        sa.text(
            "INSERT INTO supervisors (district_code, id, name, level, device_id, phone, "
            "shift_start, shift_end) VALUES (:d, :id, :name, :level, :device, :phone, :start, "
            ":end) ON CONFLICT (district_code, id) DO UPDATE SET name = EXCLUDED.name, "
            "level = EXCLUDED.level, device_id = EXCLUDED.device_id, phone = EXCLUDED.phone, "
            "shift_start = EXCLUDED.shift_start, shift_end = EXCLUDED.shift_end, "
            "updated_at = now()"
        ),
        params,
    )
    # grids that leave the assignment end on valid_from; new ones start on it
    conn.execute(
        sa.text(
            "UPDATE supervisor_grids SET valid_to = :from WHERE district_code = :d "
            "AND supervisor_id = :id AND valid_to IS NULL AND NOT grid_code = ANY(:grids) "
            "AND valid_from < :from"
        ),
        params,
    )
    conn.execute(
        sa.text(
            "DELETE FROM supervisor_grids WHERE district_code = :d AND supervisor_id = :id "
            "AND valid_to IS NULL AND NOT grid_code = ANY(:grids) AND valid_from >= :from"
        ),
        params,
    )
    conn.execute(
        sa.text(
            "INSERT INTO supervisor_grids (district_code, supervisor_id, grid_code, valid_from) "
            "SELECT :d, :id, g, :from FROM unnest(CAST(:grids AS text[])) AS g "
            "WHERE NOT EXISTS (SELECT 1 FROM supervisor_grids s WHERE s.district_code = :d "
            "AND s.supervisor_id = :id AND s.grid_code = g AND s.valid_to IS NULL)"
        ),
        params,
    )


_SELECT = """
SELECT s.id, s.name, s.level, s.device_id, s.phone, s.shift_start, s.shift_end,
       coalesce(array_agg(g.grid_code ORDER BY g.grid_code)
                FILTER (WHERE g.grid_code IS NOT NULL), '{{}}') AS grids
FROM supervisors s
LEFT JOIN supervisor_grids g ON g.district_code = s.district_code
     AND g.supervisor_id = s.id AND g.valid_to IS NULL
{where}
GROUP BY s.district_code, s.id ORDER BY s.id
"""


def _row(r: Any) -> dict[str, Any]:
    out = dict(r)
    out["shift_start"] = r["shift_start"].isoformat(timespec="minutes")
    out["shift_end"] = r["shift_end"].isoformat(timespec="minutes")
    out["grids"] = list(r["grids"])
    return out


def list_supervisors(conn: Connection) -> list[dict[str, Any]]:
    """Every supervisor with the grids assigned today."""
    rows = conn.execute(sa.text(_SELECT.format(where=""))).mappings()
    return [_row(r) for r in rows]


def get_supervisor(conn: Connection, supervisor_id: str) -> dict[str, Any]:
    """One supervisor with the grids assigned today; NotFound when unknown."""
    row = (
        conn.execute(sa.text(_SELECT.format(where="WHERE s.id = :id")), {"id": supervisor_id})
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"There is no supervisor '{supervisor_id}'.")
    return _row(row)


@dataclass(frozen=True)
class ShiftSpec:
    """A supervisor's shift on one day, replacing their default shift that day."""

    day: date
    shift_start: time
    shift_end: time


def _shift_fault(start: time, end: time) -> str | None:
    """What is wrong with a shift of local times of day (none: None).

    A time with a UTC offset is refused rather than compared: shifts are wall-clock times of
    the district's zone (DOMAIN.md §5)."""
    if start.tzinfo is not None or end.tzinfo is not None:
        return "its times have a UTC offset; give local times of day"
    if end <= start:
        return "it does not end after it starts"
    return None


def set_shifts(conn: Connection, supervisor_id: str, shifts: list[ShiftSpec]) -> int:
    """Store the shifts of days for a supervisor (the caller's transaction); the day count.

    Raises
    ------
    NotFound
        When the supervisor is unknown.
    ValidationFailed
        Naming every day whose shift does not end after it starts, or a day given twice.
    """
    get_supervisor(conn, supervisor_id)
    problems = [
        Problem(f"shift {s.day}", "bad_shift", f"Shift of {s.day}: {fault}.")
        for s in shifts
        if (fault := _shift_fault(s.shift_start, s.shift_end))
    ]
    days = [s.day for s in shifts]
    problems += [
        Problem(f"shift {d}", "duplicate_day", f"Shift of {d}: the day is given twice.")
        for d in sorted({d for d in days if days.count(d) > 1})
    ]
    if problems:
        raise ValidationFailed(
            f"The shifts were not stored: {problems[0].message} Nothing was written.", problems
        )
    for s in shifts:
        conn.execute(
            sa.text(
                "INSERT INTO supervisor_shifts (district_code, supervisor_id, day, shift_start, "
                "shift_end) SELECT district_code, id, :day, :start, :end FROM supervisors "
                "WHERE id = :id ON CONFLICT (district_code, supervisor_id, day) DO UPDATE SET "
                "shift_start = EXCLUDED.shift_start, shift_end = EXCLUDED.shift_end"
            ),
            {"id": supervisor_id, "day": s.day, "start": s.shift_start, "end": s.shift_end},
        )
    return len(shifts)


def _time(text: str, default: time) -> time:
    return time.fromisoformat(text) if text else default


def read_supervisors(path: Path) -> list[SupervisorSpec]:
    """Supervisors of a CSV/XLSX table: ``id, name, level, device_id, phone, grids`` (grid codes
    separated by ``;``, ``|`` or spaces), ``shift_start, shift_end, valid_from``.

    Raises
    ------
    ValidationFailed
        Naming the row and column of a bad time or day.
    """
    frame = read_table(path, name=path.name)
    problems: list[Problem] = []
    specs = []
    for i, row in enumerate(frame.to_dict("records"), start=2):
        cell = {k: str(v).strip() for k, v in row.items()}
        try:
            specs.append(
                SupervisorSpec(
                    id=cell.get("id", ""),
                    name=cell.get("name", ""),
                    level=cell.get("level") or "district",
                    device_id=cell.get("device_id") or None,
                    phone=cell.get("phone") or None,
                    grids=tuple(
                        re.split(r"[;|\s]+", cell.get("grids", "")) if cell.get("grids") else ()
                    ),
                    shift_start=_time(cell.get("shift_start", ""), DEFAULT_SHIFT[0]),
                    shift_end=_time(cell.get("shift_end", ""), DEFAULT_SHIFT[1]),
                    valid_from=date.fromisoformat(cell["valid_from"])
                    if cell.get("valid_from")
                    else date.today(),
                )
            )
        except ValueError as exc:
            problems.append(Problem(f"row {i}", "bad_value", f"Row {i}: {exc}."))
    if problems:
        raise ValidationFailed(f"'{path.name}' was not imported: {problems[0].message}", problems)
    return specs
