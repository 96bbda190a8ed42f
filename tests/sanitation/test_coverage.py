"""Sweeping coverage from fixes stored through the supervisors' ingest (PostGIS).

On 2026-10-09 (see ``tests/sanitation/data.py``): sweeper V1 of 城洁 sweeps the first 240 m of
the 400 m main road N-0001 at 8.64 km/h (60 % of it); V2, also 城洁's, drives the whole road
at 40 km/h; garbage truck T1 crawls along all of it; crew B1 of 绿源 walks the whole alley
S-0001. Only V1's and B1's tracks sweep: N-0001 is 60 % swept (not once whole: missed) and
S-0001 100 % (done).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from geogrid.sanitation import TrackerSpec, sweep_csv, sweep_days, sweep_table, sweep_xlsx
from tests.sanitation.data import drive, load_sanitation, send_fixes

DAY = date(2026, 10, 9)
TRACKERS = [
    TrackerSpec("V1", "HW1", "sweeper", "云A·D0001", "GPS-V1"),
    TrackerSpec("V2", "HW1", "sweeper", "云A·D0002", "GPS-V2"),
    TrackerSpec("T1", "HW1", "garbage_truck", "云A·L0001", "GPS-T1"),
    TrackerSpec("B1", "HW2", "crew", "乌龙一组", "GPS-B1", members=5),
]


@pytest.fixture
def swept(territory_engine: Engine) -> Engine:
    load_sanitation(territory_engine, trackers=TRACKERS)
    by_device = drive("V1", "2026-10-09", "07:00:00", np.arange(0, 241, 12), 153.0)
    for row in by_device:  # the sweeper's terminal sends its device id, not the vehicle's
        row["device_id"] = "GPS-V1"
        del row["supervisor_id"]
    rows = by_device
    rows += drive("V2", "2026-10-09", "08:00:00", np.arange(-56, 460, 55.6), 148.0)
    rows += drive("T1", "2026-10-09", "09:00:00", np.arange(0, 401, 8), 150.0)
    rows += drive("B1", "2026-10-09", "07:30:00", np.arange(-5, 206, 10), 51.0, every_s=10)
    assert send_fixes(territory_engine, rows) == len(rows)
    return territory_engine


def test_share_swept_of_each_segment(swept: Engine) -> None:
    with swept.connect() as conn:
        days = sweep_days(conn, DAY, DAY)
    got = {r["segment_id"]: r for r in days.to_dict("records")}
    main, alley = got["N-0001"], got["S-0001"]
    assert main["swept_share"] == pytest.approx(60.0, abs=0.01)
    assert main["swept_m"] == pytest.approx(0.6 * main["length_m"], abs=0.2)
    assert (main["sweeps"], main["required"], main["status"]) == (0, 2, "missed")
    assert main["fulfilment"] == pytest.approx(30.0, abs=0.01)  # 60 % of the road, 1 of 2
    assert alley["swept_share"] == pytest.approx(100.0)
    assert (alley["sweeps"], alley["required"], alley["status"]) == (1, 1, "done")
    assert (main["company"], alley["company"]) == ("城洁环卫有限公司", "绿源环卫有限公司")


def test_the_table_per_company_area_and_class_and_the_missed(swept: Engine) -> None:
    with swept.connect() as conn:
        table = sweep_table(conn, DAY, date(2026, 10, 10))
    answer = table.as_json()
    companies = {r["company_id"]: r for r in answer["companies"]}
    assert companies["HW1"]["segment_days"] == 2 and companies["HW1"]["missed"] == 2
    assert companies["HW1"]["swept_share"] == pytest.approx(30.0, abs=0.01)  # 60 % then 0
    assert companies["HW2"]["done"] == 1 and companies["HW2"]["missed"] == 1  # the 10th: none
    assert companies["HW2"]["done_rate"] == 50.0
    assert [(r["area_id"], r["road_class"]) for r in answer["groups"]] == [
        ("N", "main"),
        ("S", "alley"),
    ]
    missed = [(m["day"], m["segment_id"], m["status"]) for m in answer["missed"]]
    assert missed == [
        ("2026-10-09", "N-0001", "missed"),
        ("2026-10-10", "N-0001", "missed"),
        ("2026-10-10", "S-0001", "missed"),
    ]
    assert answer["totals"]["segment_days"] == 4 and answer["missed_count"] == 3


def test_one_company_and_the_contract_period(swept: Engine) -> None:
    with swept.connect() as conn:
        theirs = sweep_days(conn, DAY, DAY, company="绿源环卫有限公司")
        after = sweep_days(conn, date(2027, 1, 5), date(2027, 1, 5))  # 城洁's contract ended
    assert theirs["segment_id"].tolist() == ["S-0001"]
    assert after["segment_id"].tolist() == ["S-0001"]


def test_csv_and_xlsx_hold_every_segment_day(swept: Engine, tmp_path: Path) -> None:
    with swept.connect() as conn:
        table = sweep_table(conn, DAY, DAY)
    rows = list(csv.reader(io.StringIO("".join(sweep_csv(table)).lstrip("\ufeff"))))
    assert rows[0][:4] == ["日期", "路段编号", "公司编号", "环卫公司"]
    assert [r[1] for r in rows[1:]] == ["N-0001", "S-0001"]
    assert (
        rows[1][rows[0].index("状态")] == "漏扫" and rows[1][rows[0].index("道路等级")] == "主干道"
    )
    sweep_xlsx(table, tmp_path / "sweeping.xlsx")
    book = load_workbook(tmp_path / "sweeping.xlsx", read_only=True)
    assert book.sheetnames == ["按公司", "按责任区", "按道路等级", "路段明细"]
    companies = list(book["按公司"].iter_rows(values_only=True))
    assert companies[0][0] == "环卫公司" and companies[-1][0] == "合计"
