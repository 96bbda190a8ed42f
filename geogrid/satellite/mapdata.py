"""What the patch map page (图斑核查图, DOMAIN.md §6) shows, read from PostGIS.

One batch: its patches with their verdict, handling state and the figures that decided the
verdict; the street outlines; the batch's registered images (bounds, the zoom of their
pixels) for the imagery tile layers; the batch's scores (:mod:`geogrid.satellite.scoring`);
and the list of batches for the page's form. The default batch is the newest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import NotFound
from geogrid.features.query import feature_collection
from geogrid.satellite.batches import HANDLING_STATE_SQL, district_code
from geogrid.satellite.scoring import ScoreRule, score_patches
from geogrid.satellite.tiles import native_zoom
from geogrid.territory.layers import STREETS

STREET_LIMIT: Final = 10_000

_PATCHES: Final = f"""
SELECT p.id, p.patch_code, p.change_type, round(p.area_m2::numeric, 1)::float AS area_m2,
       p.grid_code, p.street_code, coalesce(s.name, p.street_code) AS street_name,
       p.department, p.case_id, c.due_at, c.closed_at,
       coalesce(c.closed_at, :now) > c.due_at AND c.due_at <= :now AS overdue,
       {HANDLING_STATE_SQL} AS handling_state, v.verdict, v.figures,
       EXISTS (SELECT 1 FROM patch_imagery i WHERE i.district_code = p.district_code
               AND i.batch_id = p.batch_id AND ST_Intersects(i.footprint, p.geom)) AS imaged,
       ST_AsGeoJSON(p.geom, 7) AS geometry
FROM patches p
JOIN cases c ON c.district_code = p.district_code AND c.case_id = p.case_id
LEFT JOIN patch_verifications v ON v.district_code = p.district_code AND v.patch_id = p.id
LEFT JOIN streets s ON s.district_code = p.district_code AND s.code = p.street_code
     AND s.valid_to IS NULL
WHERE p.district_code = :d AND p.batch_id = :b
ORDER BY p.patch_code
"""

_IMAGERY: Final = """
SELECT role, acquired_on, width, height, ST_XMin(f) AS west, ST_YMin(f) AS south,
       ST_XMax(f) AS east, ST_YMax(f) AS north,
       ST_Distance(ST_SetSRID(ST_MakePoint(ST_XMin(f), ST_YMin(f)), 4326)::geography,
                   ST_SetSRID(ST_MakePoint(ST_XMax(f), ST_YMin(f)), 4326)::geography)
           / width AS pixel_m
FROM patch_imagery CROSS JOIN LATERAL (SELECT footprint AS f) x
WHERE district_code = :d AND batch_id = :b ORDER BY role
"""

_BATCHES: Final = """
SELECT b.id, b.dispatched_at, count(p.id) AS patches
FROM patch_batches b
LEFT JOIN patches p ON p.district_code = b.district_code AND p.batch_id = b.id
WHERE b.district_code = :d
GROUP BY b.id, b.dispatched_at
ORDER BY b.dispatched_at DESC, b.id DESC
"""


@dataclass(frozen=True)
class ImageryLayer:
    """A registered image of the batch as the map shows it.

    ``bounds`` [[south, west], [north, east]] (EPSG:4326) of its footprint; ``native_zoom``
    the Web Mercator zoom of its pixels (tiles are not asked beyond it: the map enlarges).
    """

    role: str
    bounds: list[list[float]]
    native_zoom: int
    pixel_m: float
    acquired_on: str | None


@dataclass(frozen=True)
class PatchMapData:
    """One batch's patches (GeoJSON, EPSG:4326), street outlines, imagery, scores, batches."""

    batch_id: str | None
    patches: dict[str, Any]
    streets: dict[str, Any]
    imagery: list[ImageryLayer] = field(default_factory=list)
    scores: dict[str, Any] | None = None
    batches: list[tuple[str, int]] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _figures(figures: dict[str, Any] | None) -> dict[str, Any]:
    """The few stored verification figures the popup shows."""
    if not figures:
        return {}
    image = figures.get("image") or {}
    field_ = figures.get("field") or {}
    out: dict[str, Any] = {
        "rule": figures.get("rule"),
        "image_reason": image.get("reason"),
        "photos_near": field_.get("photos_near"),
        "fixes_near": field_.get("fixes_near"),
    }
    for role in ("before", "after"):
        share = (image.get(role) or {}).get("valid_share")
        out[f"{role}_valid_share"] = share
    for key in ("bare_soil_drop", "ndvi_rise", "relative_change", "reversion"):
        if image.get(key) is not None:
            out[key] = image[key]
    return out


def patch_map_data(
    conn: Connection,
    batch_id: str | None = None,
    *,
    now: datetime | None = None,
    rule: ScoreRule | None = None,
) -> PatchMapData:
    """Read the patch map page's data for one batch (default: the newest one).

    Parameters
    ----------
    batch_id
        The batch; None for the newest (an empty page when there is no batch).
    now
        The cut-off of overdue and of the scores (default now).
    rule
        The scores' deduction rule.

    Raises
    ------
    NotFound
        When ``batch_id`` is given and there is no such batch.
    """
    at = now or datetime.now(UTC)
    d = district_code(conn)
    batches = [(str(r.id), int(r.patches)) for r in conn.execute(sa.text(_BATCHES), {"d": d})]
    streets = json.loads(feature_collection(conn, STREETS, limit=STREET_LIMIT))
    if batch_id is not None and batch_id not in dict(batches):
        raise NotFound(f"There is no patch batch '{batch_id}'.")
    chosen = batch_id or (batches[0][0] if batches else None)
    if chosen is None:
        empty = {"type": "FeatureCollection", "features": []}
        return PatchMapData(None, empty, streets, batches=batches)
    features = []
    for row in conn.execute(sa.text(_PATCHES), {"d": d, "b": chosen, "now": at}).mappings():
        props = {k: v for k, v in row.items() if k not in ("geometry", "figures")}
        props["due_at"], props["closed_at"] = _iso(row["due_at"]), _iso(row["closed_at"])
        props["figures"] = _figures(row["figures"])
        features.append(
            {
                "type": "Feature",
                "id": int(row["id"]),
                "geometry": json.loads(row["geometry"]),
                "properties": props,
            }
        )
    imagery = [
        ImageryLayer(
            role=str(r.role),
            bounds=[[float(r.south), float(r.west)], [float(r.north), float(r.east)]],
            native_zoom=native_zoom(float(r.pixel_m), (float(r.south) + float(r.north)) / 2),
            pixel_m=round(float(r.pixel_m), 2),
            acquired_on=r.acquired_on.isoformat() if r.acquired_on else None,
        )
        for r in conn.execute(sa.text(_IMAGERY), {"d": d, "b": chosen})
    ]
    scores = score_patches(conn, batch_ids=[chosen], at=at, rule=rule)
    return PatchMapData(
        batch_id=chosen,
        patches={"type": "FeatureCollection", "features": features},
        streets=streets,
        imagery=imagery,
        scores=scores,
        batches=batches,
    )
