"""A hotspot result as a GeoJSON FeatureCollection (RFC 7946, EPSG:4326)."""

from __future__ import annotations

import json
import math
from typing import Any, Final

import numpy as np
import shapely

from geogrid.hotspots.gistar import HotspotResult

COORD_DECIMALS: Final = 7
"""Decimals of degrees kept: about 1 cm, as the OGC API pages (``geogrid.features.query``)."""


def _significant(value: float, digits: int) -> float | None:
    """``value`` to ``digits`` significant digits; None (JSON null) when NaN."""
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _numbers(grids: Any, name: str) -> list[float]:
    """Column ``name`` as floats, all NaN when the grids have no such column."""
    if name not in grids:
        return [math.nan] * len(grids)
    return [float(v) for v in grids[name]]


def hotspots_geojson(result: HotspotResult) -> dict[str, Any]:
    """The grids of ``result`` as a FeatureCollection, with the analysis beside them.

    Parameters
    ----------
    result
        What :func:`~geogrid.hotspots.gistar.gi_star` (or ``find_hotspots``) returned.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...], "parameters": {...},
        "summary": {class: grids}, "notes": [{"code", "message", "count"}],
        "unassigned": int}``; each feature's ``id`` is the grid code and its properties
        ``code, street_code, cases, density`` (cases per km², 3 decimals), ``z`` (6 significant
        digits), ``p`` (4 significant digits), ``class, label``; null z and p where Gi* is
        undefined.
    """
    grids = result.grids.to_crs("EPSG:4326") if result.grids.crs else result.grids
    geoms = shapely.transform(
        np.asarray(grids.geometry.values), lambda xy: np.round(xy, COORD_DECIMALS)
    )
    texts = shapely.to_geojson(geoms)
    streets = grids["street_code"] if "street_code" in grids else [None] * len(grids)
    cases, density = (_numbers(grids, name) for name in ("cases", "density"))
    features = [
        {
            "type": "Feature",
            "id": str(code),
            "geometry": json.loads(text),
            "properties": {
                "code": str(code),
                "street_code": None if street is None else str(street),
                "cases": int(count) if math.isfinite(count) else None,
                "density": round(dens, 3) if math.isfinite(dens) else None,
                "z": _significant(float(z), 6),
                "p": _significant(float(p), 4),
                "class": cls,
                "label": label,
            },
        }
        for code, street, count, dens, z, p, cls, label, text in zip(
            grids["code"],
            streets,
            cases,
            density,
            grids["z"],
            grids["p"],
            grids["class"],
            grids["label"],
            texts,
            strict=True,
        )
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "parameters": result.parameters,
        "summary": result.summary,
        "notes": [{"code": n.code, "message": n.message, "count": n.count} for n in result.notes],
        "unassigned": result.unassigned,
    }
