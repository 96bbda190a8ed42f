"""Real GPS tracks (GeoLife, Beijing): ingest, flags, segments and online time checked against
independent computations with pandas and pyproj on the same fixes.

The trackers become supervisors G0, G2 and G19 with the hand-made territory's grids (in
Kunming): every fix is far from their post, so all their online time is off-post time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pyproj import Geod
from sqlalchemy.engine import Engine

from geogrid.patrol.coverage import patrol_days
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from geogrid.patrol.tracks import track_of_day

GEOLIFE = Path(__file__).resolve().parent.parent / "data" / "geolife_small.csv"
TZ = ZoneInfo("Asia/Shanghai")
A11 = "530114001001001"


@pytest.fixture(scope="module")
def geolife() -> pd.DataFrame:
    frame = pd.read_csv(GEOLIFE, sep=";")
    frame["supervisor_id"] = "G" + frame["tracker"].astype(str)
    frame["t"] = pd.to_datetime(frame["t"], utc=True)
    return frame.sort_values(["supervisor_id", "t"]).drop_duplicates(["supervisor_id", "t"])


@pytest.fixture
def stored(territory_engine: Engine, geolife: pd.DataFrame) -> Engine:
    ids = sorted(geolife["supervisor_id"].unique())
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [
                SupervisorSpec(i, f"监督员{i}", grids=(A11,), valid_from=date(2008, 1, 1))
                for i in ids
            ],
            shown="geolife",
        )
    rows = pd.DataFrame(
        {
            "supervisor_id": geolife["supervisor_id"],
            "timestamp": geolife["t"].map(lambda t: t.isoformat()),
            "lon": geolife["X"].astype(str),
            "lat": geolife["Y"].astype(str),
        }
    )
    with territory_engine.begin() as conn:
        fixes = parse_fixes(rows, supervisors=set(ids), devices={})
        store_fixes(conn, fixes, district_code="530114")
    return territory_engine


def _epoch(times: pd.Series) -> np.ndarray:
    return (times - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()


def _spikes(frame: pd.DataFrame) -> int:
    """Fixes faster than 30 m/s from the previous and to the next fix (WGS84 ellipsoid)."""
    geod = Geod(ellps="WGS84")
    count = 0
    for _, track in frame.groupby("supervisor_id"):
        lon, lat = track["X"].to_numpy(), track["Y"].to_numpy()
        seconds = np.maximum(np.diff(_epoch(track["t"])), 1)
        _, _, metres = geod.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        speed = metres / seconds
        fast_in = np.r_[False, speed > 30]
        fast_out = np.r_[speed > 30, False]
        count += int((fast_in & fast_out).sum())
    return count


def test_every_real_fix_is_stored_and_spikes_are_flagged(
    stored: Engine, geolife: pd.DataFrame
) -> None:
    with stored.connect() as conn:
        total, speed = conn.execute(
            sa.text("SELECT count(*), count(*) FILTER (WHERE 'speed' = ANY(flags)) FROM fixes")
        ).one()
    assert total == len(geolife)
    assert speed == _spikes(geolife)


def _usable(stored: Engine) -> pd.DataFrame:
    with stored.connect() as conn:
        return pd.read_sql(
            sa.text(
                "SELECT supervisor_id, fixed_at FROM fixes WHERE cardinality(flags) = 0 "
                "ORDER BY supervisor_id, fixed_at"
            ),
            conn,
        )


def test_segments_split_where_real_gaps_exceed_two_minutes(stored: Engine) -> None:
    usable = _usable(stored)
    usable["day"] = usable["fixed_at"].dt.tz_convert(TZ).dt.date
    for (sup, day), track in usable.groupby(["supervisor_id", "day"]):
        gaps = track["fixed_at"].diff().dt.total_seconds()
        expected = 1 + int((gaps > 120).sum())
        with stored.connect() as conn:
            features = track_of_day(conn, sup, day)["features"]
        segments = [f for f in features if f["properties"]["kind"] == "segment"]
        assert len(segments) == expected, (sup, day)
        assert sum(f["properties"]["fixes"] for f in segments) == len(track)


def test_online_and_off_post_time_of_real_tracks(stored: Engine) -> None:
    usable = _usable(stored)
    usable["day"] = usable["fixed_at"].dt.tz_convert(TZ).dt.date
    expected: dict[tuple[str, date], float] = {}
    for (sup, day), track in usable.groupby(["supervisor_id", "day"]):
        start = datetime.combine(day, time(8), TZ).timestamp()
        end = datetime.combine(day, time(18), TZ).timestamp()
        t = _epoch(track["fixed_at"])
        linked = (np.diff(t) > 0) & (np.diff(t) <= 300)
        clipped = np.maximum(np.minimum(t[1:], end) - np.maximum(t[:-1], start), 0)
        expected[(sup, day)] = float(clipped[linked].sum())
    days = sorted({d for _, d in expected})
    measured = {}
    with stored.connect() as conn:
        for day in days:
            for d in patrol_days(conn, day, day + timedelta(days=0)):
                measured[(d.supervisor_id, d.day)] = d
    for key, online in expected.items():
        assert measured[key].online_s == pytest.approx(online, abs=0.5), key
        # Beijing is 2,000 km from the post in Kunming: all online time is off post
        assert measured[key].off_post_s == pytest.approx(online, abs=0.5), key
        assert measured[key].dwell == {A11: 0.0}
    assert sum(expected.values()) > 3600  # the check is not vacuous: hours of shift time
