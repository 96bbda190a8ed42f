"""Indicator layers: the grid, community and street collections carrying a period's indicators.

A choropleth asks for the same period's indicators once per tile or page. They are computed
once per parameters and data versions and kept in ``indicator_layers`` (an unlogged cache
table); the augmented collection joins that table by code, so a tile costs a join, not an
indicator computation. Keys include the write counters of every table involved, so a cached
layer is never served after the data changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter
from geogrid.features.collection import Collection, Property
from geogrid.features.query import layer_versions
from geogrid.indicators.engine import compute_indicators
from geogrid.indicators.params import IndicatorQuery
from geogrid.indicators.rules import OUTPUT_COUNTS, RATES

#: Collections that can carry indicators, and the level whose key is their ``f.code``.
LEVEL_OF_COLLECTION = {"grids": "grid", "communities": "community", "streets": "street"}
KEY_COLUMN = {"grid": "grid_code", "community": "community_code", "street": "street_code"}
DEPENDS_ON = ("cases", "grids", "communities", "streets")
KEEP_LAYERS = 32  # cached layers kept; older ones are dropped when a new one is built
LABELS = {
    "registered": "立案数",
    "closed": "结案数",
    "closed_on_time": "按期结案数",
    "closed_overdue": "超期结案数",
    "open_on_time": "按期未结案数",
    "open_overdue": "超期未结案数",
    "open_cumulative": "累计未结案数",
    "returned": "回退数",
    "repeat_cases": "重复案件数",
    "on_time_rate": "按期结案率",
    "closure_rate": "结案率",
    "rework_rate": "返工率",
    "extension_rate": "延期率",
    "repeat_rate": "重复率",
}


def layer_key(conn: Connection, query: IndicatorQuery) -> str:
    """A key naming the indicator layer of ``query`` over the current data."""
    params = dataclasses.asdict(query)
    raw = json.dumps([params, layer_versions(conn, DEPENDS_ON)], default=str, sort_keys=True)
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def ensure_layer(conn: Connection, query: IndicatorQuery) -> str:
    """Compute and store the indicator layer of ``query`` unless it is stored; return its key."""
    key = layer_key(conn, query)
    found = conn.execute(
        sa.text("SELECT 1 FROM indicator_layers WHERE key = :k LIMIT 1"), {"k": key}
    ).first()
    if found:
        return key
    table = compute_indicators(conn, query)
    column = KEY_COLUMN[query.level]
    rows = [
        {
            "k": key,
            "code": row[column],
            "props": json.dumps({c: row[c] for c in (*OUTPUT_COUNTS, *RATES)}),
        }
        for row in table.rows
        if row.get(column)
    ]
    rows.append({"k": key, "code": "", "props": "{}"})  # marks the layer as complete
    conn.execute(
        sa.text(
            "DELETE FROM indicator_layers WHERE key IN (SELECT key FROM indicator_layers "
            "GROUP BY key ORDER BY max(created_at) DESC OFFSET :keep)"
        ),
        {"keep": KEEP_LAYERS - 1},
    )
    conn.execute(
        sa.text(
            "INSERT INTO indicator_layers (key, code, props) "
            "VALUES (:k, :code, CAST(:props AS jsonb)) ON CONFLICT DO NOTHING"
        ),
        rows,
    )
    return key


def with_indicators(coll: Collection, key: str) -> Collection:
    """``coll`` whose features also carry the indicators of the stored layer ``key``."""
    if coll.id not in LEVEL_OF_COLLECTION:
        raise InvalidParameter(
            f"Collection '{coll.id}' carries no indicators; those that do: "
            f"{', '.join(LEVEL_OF_COLLECTION)}."
        )
    if not key.isalnum():
        raise InvalidParameter("Bad indicator layer key.")
    head, sep, tail = coll.source.rpartition(" WHERE ")
    join = f" LEFT JOIN indicator_layers ind ON ind.key = '{key}' AND ind.code = f.code"
    counts = tuple(
        Property(c, f"coalesce((ind.props->>'{c}')::integer, 0)", "integer", LABELS[c])
        for c in OUTPUT_COUNTS
    )
    rates = tuple(Property(r, f"(ind.props->>'{r}')::float8", "number", LABELS[r]) for r in RATES)
    return dataclasses.replace(
        coll,
        source=f"{head}{join}{sep}{tail}",
        properties=coll.properties + counts + rates,
        depends_on=tuple(dict.fromkeys(coll.depends_on + DEPENDS_ON)),
        extra={**coll.extra, "variant": key},
    )


def indicator_collection(conn: Connection, coll: Collection, query: IndicatorQuery) -> Collection:
    """``coll`` (grids, communities or streets) with ``query``'s period indicators joined."""
    if coll.id not in LEVEL_OF_COLLECTION:
        with_indicators(coll, "x")  # raises the sentence
    query = dataclasses.replace(query, level=LEVEL_OF_COLLECTION[coll.id], boundaries="current")
    return with_indicators(coll, ensure_layer(conn, query))
