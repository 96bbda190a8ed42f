"""Scoring satellite patches per street and district (DOMAIN.md §6, §7 卫星遥感监测体系).

Figures
-------
Per street and for the district, over the patches of a batch (or of every batch dispatched in
a period), at a cut-off time: ``patches``; ``due`` (due time ≤ cut-off); the handling state
from the records (``on_site`` 实地处置, ``documents`` closed by documents only 材料结案,
``pending`` no record); ``closed``; ``overdue`` (closed late, or open past due); one count per
verdict and ``unchecked``; ``dust_area_m2`` (dust sources), ``dust_area_covered_m2`` (dust
sources whose after image shows them covered: verdict ``verified``) and
``dust_area_reported_m2`` (the covered area the handling records declare), in m².

The indicator's score
---------------------
The satellite item is worth ``points`` (default 6, the 卫星遥感监测体系 item of the
``kunming-district-2021`` rules, DOMAIN.md §7), and closures by documents only cost points. The
only published figure: *of 9 patches in a month, 2 handled on site and 7 closed by documents
cost 0.67 of the 6 points*. One data point fixes one parameter of any rule, so geogrid offers
three shapes (:data:`MODES`), each able to reproduce it, and picks as default the one whose
parameter comes out as a round number and which uses the item up when every patch is closed by
documents (a rule that penalises 材料结案 should then leave nothing):

``tolerated_share`` (default)
    deduction = points × max(0, d − t) / (1 − t), with d the share of the patches closed by
    documents only and t the tolerated share. The example: d = 7/9, and
    6 × (7/9 − t) / (1 − t) = 2/3 ⇔ 54 × (7/9 − t) = 6 × (1 − t) ⇔ 42 − 54t = 6 − 6t ⇔
    t = 36/48 = **0.75**: up to three quarters of the patches may be closed by documents
    (patches that turn out lawful are legitimately closed with their permits), beyond that
    the item falls linearly to 0 when every patch is. Equivalently, with no patch left
    pending: full marks at ≥ 25 % handled on site, proportionally less below
    (6 × (2/9) / 0.25 = 5.33).
``share``
    deduction = points × d × factor; the example gives factor = (2/3) / (6 × 7/9) = 1/7
    (≈ 0.142857), so even all patches closed by documents cost only 0.86 of 6.
``per_patch``
    deduction = per_patch × the number of patches closed by documents only, until the item
    is used up (扣完为止); the example gives 2/21 ≈ 0.0952 a patch, not a round figure either.

Every mode adds ``per_overdue`` × overdue patches (default 0: the published practice counts
handling only). The deduction never exceeds ``points``; it is rounded to 2 decimals
(``round``, half up: 0.6667 → **0.67**, as published; or ``truncate``, as some rule sets
write their figures: 0.66) and the score is points − deduction.

``basis`` says which patches count as closed by documents only: ``handling`` (default, the
published practice: the handling type reported, a record by documents and none on site) or
``verdict`` (geogrid's verification: verdict ``documents_only``, no field or image evidence).
A street's score applies the same rule to the street's own patches, so the streets' deductions
need not add up to the district's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound
from geogrid.satellite.batches import HANDLING_STATE_SQL, district_code
from geogrid.satellite.rules import HANDLING_STATES, VERDICTS

MODES = ("tolerated_share", "share", "per_patch")
BASES = ("handling", "verdict")
ROUNDINGS = ("round", "truncate")

#: The counts of a street or the district, in the order of tables.
COUNTS = (
    "patches",
    "due",
    *HANDLING_STATES,
    "closed",
    "overdue",
    *VERDICTS,
    "unchecked",
)
AREAS = ("dust_area_m2", "dust_area_covered_m2", "dust_area_reported_m2")
LABELS = {
    "patches": "图斑数",
    "due": "应处置数",
    "pending": "未处置",
    "on_site": "实地处置",
    "documents": "材料结案",
    "closed": "已结案",
    "overdue": "超期",
    "verified": "已核实",
    "field_verified": "现场核实",
    "not_verified": "未整改",
    "documents_only": "仅材料无佐证",
    "inconclusive": "无法判定",
    "unchecked": "未核查",
    "dust_area_m2": "扬尘源面积（m²）",
    "dust_area_covered_m2": "扬尘源实际覆盖面积（m²）",
    "dust_area_reported_m2": "上报覆盖面积（m²）",
    "documents_share": "材料结案占比（%）",
    "deduction": "扣分",
    "score": "得分",
}


@dataclass(frozen=True)
class ScoreRule:
    """The deduction rule of the satellite indicator (see the module doc)."""

    points: float = 6.0
    mode: str = "tolerated_share"
    tolerated_share: float = 0.75
    factor: float = 1 / 7
    per_patch: float = 2 / 21
    per_overdue: float = 0.0
    basis: str = "handling"
    rounding: str = "round"

    def __post_init__(self) -> None:
        for name, allowed in (("mode", MODES), ("basis", BASES), ("rounding", ROUNDINGS)):
            value = getattr(self, name)
            if value not in allowed:
                raise InvalidParameter(
                    f"Score rule '{name}' must be one of {', '.join(allowed)}, not {value!r}."
                )
        for name in ("points", "factor", "per_patch", "per_overdue"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidParameter(f"Score rule '{name}' must be a number ≥ 0, not {value!r}.")
        if not 0 <= self.tolerated_share < 1:
            raise InvalidParameter(
                f"Score rule 'tolerated_share' must be ≥ 0 and < 1, not {self.tolerated_share!r}."
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreRule:
        """A rule from a mapping of some of its fields (absent ones keep their defaults).

        Raises
        ------
        InvalidParameter
            For an unknown key or a bad value (the message names it).
        """
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InvalidParameter(
                f"Unknown score rule field(s): {', '.join(sorted(unknown))}; "
                f"use {', '.join(sorted(names))}."
            )
        return cls(**{k: v for k, v in data.items() if v is not None})


def documents_count(counts: Mapping[str, Any], rule: ScoreRule) -> int:
    """The patches closed by documents only, on the rule's basis."""
    return int(counts["documents" if rule.basis == "handling" else "documents_only"])


def _rounded(value: float, rounding: str) -> float:
    how = ROUND_HALF_UP if rounding == "round" else ROUND_DOWN
    # first to 9 decimals, so that 5.9999999999 (float noise) truncates to 6.00, not 5.99
    return float(Decimal(repr(round(value, 9))).quantize(Decimal("0.01"), rounding=how))


def score(counts: Mapping[str, Any], rule: ScoreRule) -> dict[str, Any]:
    """The indicator's deduction and score for the counts of a street or the district (pure).

    Parameters
    ----------
    counts
        ``patches``, ``overdue`` and ``documents`` (basis ``handling``) or ``documents_only``
        (basis ``verdict``).

    Returns
    -------
    dict
        ``documents_share`` (%, 2 decimals; None without patches), ``deduction`` and ``score``
        (points, 2 decimals) and ``points``. No patch: no deduction, full points.
    """
    patches = int(counts["patches"])
    documents = documents_count(counts, rule)
    share = documents / patches if patches else 0.0
    if rule.mode == "tolerated_share":
        raw = rule.points * max(0.0, share - rule.tolerated_share) / (1 - rule.tolerated_share)
    elif rule.mode == "share":
        raw = rule.points * share * rule.factor
    else:
        raw = rule.per_patch * documents
    raw += rule.per_overdue * int(counts.get("overdue", 0))
    deduction = _rounded(min(raw, rule.points), rule.rounding)
    return {
        "points": rule.points,
        "documents_share": round(share * 100, 2) if patches else None,
        "deduction": deduction,
        "score": round(rule.points - deduction, 2),
    }


_FIGURES = f"""
SELECT p.batch_id, p.street_code, coalesce(s.name, p.street_code) AS street_name,
       count(*) AS patches,
       count(*) FILTER (WHERE c.due_at <= :at) AS due,
       {{states}},
       count(*) FILTER (WHERE c.closed_at IS NOT NULL AND c.closed_at <= :at) AS closed,
       count(*) FILTER (WHERE coalesce(c.closed_at, :at) > c.due_at AND c.due_at <= :at)
           AS overdue,
       {{verdicts}},
       count(*) FILTER (WHERE v.verdict IS NULL) AS unchecked,
       coalesce(sum(p.area_m2) FILTER (WHERE p.change_type = 'dust_source'), 0) AS dust_area_m2,
       coalesce(sum(p.area_m2) FILTER (WHERE p.change_type = 'dust_source'
                                       AND v.verdict = 'verified'), 0) AS dust_area_covered_m2,
       coalesce(sum(r.reported_m2) FILTER (WHERE p.change_type = 'dust_source'), 0)
           AS dust_area_reported_m2
FROM patches p
JOIN patch_batches b ON b.district_code = p.district_code AND b.id = p.batch_id
JOIN cases c ON c.district_code = p.district_code AND c.case_id = p.case_id
LEFT JOIN patch_verifications v ON v.district_code = p.district_code AND v.patch_id = p.id
LEFT JOIN streets s ON s.district_code = p.district_code AND s.code = p.street_code
     AND s.valid_to IS NULL
CROSS JOIN LATERAL (SELECT {HANDLING_STATE_SQL} AS state) h
LEFT JOIN LATERAL (
    SELECT sum(x.covered_area_m2) AS reported_m2 FROM patch_handling x
    WHERE x.district_code = p.district_code AND x.patch_id = p.id AND x.handled_at <= :at
) r ON true
WHERE p.district_code = :d
  AND (CAST(:batches AS text[]) IS NULL OR p.batch_id = ANY(CAST(:batches AS text[])))
  AND (CAST(:t0 AS timestamptz) IS NULL OR b.dispatched_at >= :t0)
  AND (CAST(:t1 AS timestamptz) IS NULL OR b.dispatched_at < :t1)
  AND (CAST(:street AS text) IS NULL OR p.street_code = :street)
GROUP BY p.batch_id, p.street_code, s.name
ORDER BY p.street_code, p.batch_id
"""


def _sql() -> str:
    return _FIGURES.format(
        states=", ".join(
            f"count(*) FILTER (WHERE h.state = '{s}') AS {s}" for s in HANDLING_STATES
        ),
        verdicts=", ".join(f"count(*) FILTER (WHERE v.verdict = '{v}') AS {v}" for v in VERDICTS),
    )


def _summed(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(COUNTS, 0) | dict.fromkeys(AREAS, 0.0)
    for row in rows:
        for key in COUNTS:
            out[key] += int(row[key])
        for key in AREAS:
            out[key] += float(row[key])
    for key in AREAS:
        out[key] = round(out[key], 1)
    return out


def score_patches(
    conn: Connection,
    *,
    batch_ids: list[str] | None = None,
    dispatched_from: datetime | None = None,
    dispatched_to: datetime | None = None,
    street_code: str | None = None,
    at: datetime | None = None,
    rule: ScoreRule | None = None,
) -> dict[str, Any]:
    """Figures and scores per street and for the district, over the chosen batches.

    Parameters
    ----------
    batch_ids
        The batches; None for every batch dispatched in [``dispatched_from``,
        ``dispatched_to``) (aware times; either may be None for no bound).
    street_code
        Only this street's patches (the "district" is then that street).
    at
        The cut-off of due, closed and overdue, and of the handling records counted; default
        now. Verdicts are the stored ones (:func:`geogrid.satellite.verify_batch`).
    rule
        The deduction rule (default :class:`ScoreRule`).

    Returns
    -------
    dict
        ``batches`` (ids, sorted), ``at``, ``rule``, ``streets`` (one dict per street with
        ``street_code``, ``street_name``, the counts, areas and :func:`score`), ``district``
        (the sums and their score).
    """
    rule = rule or ScoreRule()
    cutoff = at or datetime.now(UTC)
    rows = [
        dict(r)
        for r in conn.execute(
            sa.text(_sql()),
            {
                "d": district_code(conn),
                "batches": batch_ids,
                "t0": dispatched_from,
                "t1": dispatched_to,
                "street": street_code,
                "at": cutoff,
            },
        ).mappings()
    ]
    by_street: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    for row in rows:
        by_street.setdefault(str(row["street_code"]), []).append(row)
        names[str(row["street_code"])] = str(row["street_name"])
    streets = []
    for code, parts in by_street.items():
        figures = _summed(parts)
        streets.append(
            {"street_code": code, "street_name": names[code]} | figures | score(figures, rule)
        )
    district = _summed(rows)
    return {
        "batches": sorted({str(r["batch_id"]) for r in rows} | set(batch_ids or [])),
        "at": cutoff,
        "rule": rule.as_dict(),
        "streets": streets,
        "district": district | score(district, rule),
    }


def batch_scores(
    conn: Connection,
    batch_id: str | None = None,
    *,
    street_code: str | None = None,
    at: datetime | None = None,
    rule: ScoreRule | None = None,
) -> dict[str, Any]:
    """:func:`score_patches` of one batch (default: the newest); NotFound without it."""
    found = conn.execute(
        sa.text(
            "SELECT id FROM patch_batches WHERE district_code = :d "
            "AND (CAST(:b AS text) IS NULL OR id = :b) ORDER BY dispatched_at DESC, id DESC "
            "LIMIT 1"
        ),
        {"d": district_code(conn), "b": batch_id},
    ).scalar()
    if found is None:
        raise NotFound(
            f"There is no patch batch '{batch_id}'." if batch_id else "There is no patch batch."
        )
    return score_patches(conn, batch_ids=[str(found)], street_code=street_code, at=at, rule=rule)


def satellite_tables_exist(conn: Connection) -> bool:
    """Whether the satellite tables are there (a report of another area may run without them)."""
    tables = ("patch_batches", "patches", "patch_handling", "patch_verifications")
    sql = " AND ".join(f"to_regclass('{t}') IS NOT NULL" for t in tables)
    return bool(conn.execute(sa.text(f"SELECT {sql}")).scalar())
