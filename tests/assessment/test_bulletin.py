"""The bulletin (通报) of a stored run: its sections on the October cases, with and without
patrol data and satellite patches, and the hotspot map drawn without a browser."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from PIL import Image
from shapely.geometry import box
from sqlalchemy.engine import Engine

from geogrid.assessment.bulletin import Bulletin, Section, build_bulletin
from geogrid.assessment.bulletin_map import CLASS_COLOURS, render_hotspot_map
from geogrid.assessment.entries import rule_source
from geogrid.assessment.runs import create_run
from geogrid.catalogue import load_catalogue
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from tests.cases_data import lonlat

S1, S2 = "530114001", "530114002"
A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"


def _bulletin(engine: Engine, month: str = "2026-10") -> Bulletin:
    with engine.begin() as conn:
        run = create_run(
            conn, rule_source("district-detail"), month, level="street", created_by="t"
        )
    with engine.connect() as conn:
        return build_bulletin(conn, run.id, catalogue=load_catalogue(), today=date(2026, 11, 5))


def _section(bulletin: Bulletin, number: str) -> Section:
    return next(s for s in bulletin.sections if s.heading.startswith(number))


def test_the_sections_on_the_october_cases(october_engine: Engine) -> None:
    bulletin = _bulletin(october_engine)
    assert bulletin.title == "呈贡区数字城管工作月度通报（2026年10月）"
    assert bulletin.issuer == "呈贡区数字城管监督指挥中心"
    assert [s.heading for s in bulletin.sections] == [
        "一、总体情况",
        "二、考核得分及排名",
        "三、案件办理情况",
        "四、问题来源及高发问题",
        "五、巡查覆盖情况",
        "六、卫星遥感图斑",
        "七、主要失分原因",
    ]
    overview = _section(bulletin, "一").paragraphs
    assert overview[0].startswith("2026年10月，全区共立案 6 件，结案 5 件，结案率 83.33%")
    assert "乌龙街道得分最高（32 分），龙城街道得分最低（16 分）" in overview[1]
    ranking = _section(bulletin, "二").tables[0]
    assert ranking.headers[:4] == ["排名", "单位名称", "单位编码", "组织工作（20）"]
    assert [r[:3] + r[-3:] for r in ranking.rows] == [
        [1, "乌龙街道", S2, 32, "E", 15],
        [2, "龙城街道", S1, 16, "E", 15],
    ]
    district_platform = _section(bulletin, "三").tables[1]
    assert district_platform.title == "区级平台案件处置情况（按部门）"
    assert district_platform.rows[0] == ["区城管局", 6, 4, 1, 0, 1, 1, 66.67, 83.33]
    sources = _section(bulletin, "四")
    assert sources.paragraphs[0] == "问题来源以区级监督员为主，立案 3 件，占 50.00%。"
    assert sources.paragraphs[1] == "事件类案件中，暴露垃圾最多，立案 6 件，占本类 100.00%。"
    assert sources.figure is not None and sources.figure.legend == [("#d9d9d9", "不显著", 6)]
    assert _section(bulletin, "五").paragraphs == ["未登记监督员，本期无巡查覆盖数据。"]
    assert _section(bulletin, "六").paragraphs == ["本月无图斑。"]
    losses = _section(bulletin, "七")
    assert losses.paragraphs[0].startswith("失分较多的项目依次为：信息采集量（2 个单位共扣 14 分）")
    assert losses.tables[0].rows[1] == [
        "龙城街道",
        "结案率",
        7,
        0,
        7,
        "结案率 80.00% 低于 95%，每低 1% 扣 1 分：扣 7 分（扣完为止）",
    ]


def test_patrol_coverage_per_street(october_engine: Engine) -> None:
    """S1 is assigned A1-1, A1-2 (龙城) and B1-1 (乌龙) all October and walks along A1-1's
    north edge for 40 s on 9 October: 1 of 93 grid-days patrolled."""
    with october_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", grids=(A11, A12, B11), valid_from=date(2026, 1, 1))],
            shown="t",
        )
        rows = [
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09 09:00:{10 * i:02d}",
                "lon": lonlat(A11, 20 + 15 * i, 115)[0],
                "lat": lonlat(A11, 20 + 15 * i, 115)[1],
            }
            for i in range(5)
        ]
        fixes = parse_fixes(pd.DataFrame(rows).astype(str), supervisors={"S1"}, devices={})
        store_fixes(conn, fixes, district_code="530114")
    patrol = _section(_bulletin(october_engine), "五")
    table = patrol.tables[0]
    assert table.headers[:6] == ["街道", "监督员数", "责任网格数", "已巡查网格数", "未巡查网格数",
                                 "巡查覆盖率（%）"]  # fmt: skip
    assert [r[:6] for r in table.rows] == [
        ["龙城街道", 1, 2, 1, 1, 1.61],  # 1 of 2 × 31 grid-days
        ["乌龙街道", 0, 1, 0, 1, 0.0],
        ["合计", 1, 3, 1, 2, 1.08],  # 1 of 93
    ]
    assert patrol.paragraphs[0].startswith(
        "全区 1 名监督员负责网格 3 个，已巡查 1 个，巡查覆盖率 1.08%"
    )


def _add_patch(
    engine: Engine, code: str, grid: str, change_type: str, dispatched: str, handling: str | None
) -> None:
    lon0, lat0 = lonlat(grid, 30, 30)
    lon1, lat1 = lonlat(grid, 60, 60)
    with engine.begin() as conn:
        patch_id = conn.execute(
            sa.text(
                "INSERT INTO patches (district_code, batch_id, patch_code, change_type, geom, "
                "grid_codes, grid_code, community_code, street_code, department, sub_class, "
                "case_id, dispatched_at, due_at) VALUES ('530114', '2026-10', :code, :type, "
                "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), ARRAY[:grid], :grid, "
                "left(:grid, 12), left(:grid, 9), '区城管局', '06010', :case, :at, "
                "CAST(:at AS timestamptz) + interval '15 days') RETURNING id"
            ),
            {
                "code": code,
                "type": change_type,
                "x0": lon0,
                "y0": lat0,
                "x1": lon1,
                "y1": lat1,
                "grid": grid,
                "case": f"WX{code}",
                "at": dispatched,
            },
        ).scalar_one()
        if handling is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO patch_handling (district_code, patch_id, handling_type, "
                    "handler, handled_at) VALUES ('530114', :id, :type, '区城管局', :at)"
                ),
                {"id": patch_id, "type": handling, "at": "2026-10-20 10:00+08"},
            )


def test_satellite_patches_per_street(october_engine: Engine) -> None:
    with october_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO patch_batches (district_code, id, delivered_at, dispatched_at, "
                "file_name, file_sha256) VALUES ('530114', '2026-10', '2026-10-01 09:00+08', "
                "'2026-10-01 10:00+08', 'patches.geojson', repeat('0', 64))"
            )
        )
    _add_patch(october_engine, "P1", A11, "building", "2026-10-05 10:00+08", "on_site")
    _add_patch(october_engine, "P2", A12, "dust_source", "2026-10-06 10:00+08", "documents")
    _add_patch(october_engine, "P3", B11, "land_use", "2026-10-07 10:00+08", None)
    _add_patch(october_engine, "P4", B11, "other", "2026-09-30 10:00+08", None)  # September
    satellite = _section(_bulletin(october_engine), "六")
    assert satellite.tables[0].headers == [
        "街道", "图斑数", "房屋建筑变化", "地面扬尘源", "违法用地", "其他", "实地处置",
        "材料结案", "未处置",
    ]  # fmt: skip
    assert satellite.tables[0].rows == [
        ["龙城街道", 2, 1, 1, 0, 0, 1, 1, 0],
        ["乌龙街道", 1, 0, 0, 1, 0, 0, 0, 1],
        ["合计", 3, 1, 1, 1, 0, 1, 1, 1],
    ]
    assert satellite.paragraphs == [
        "本月下发卫星遥感图斑 3 件（房屋建筑变化 1 件、地面扬尘源 1 件、违法用地 1 件），"
        "已实地处置 1 件，材料结案 1 件，未处置 1 件。"
    ]
    september = _section(_bulletin(october_engine, "2026-09"), "六")
    assert september.tables[0].rows[-1] == ["合计", 1, 0, 0, 0, 1, 0, 0, 1]


def test_no_satellite_tables_means_no_patches(october_engine: Engine) -> None:
    with october_engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE patch_batches RENAME TO patch_batches_gone"))
    assert _section(_bulletin(october_engine), "六").paragraphs == ["本月无图斑。"]


def test_the_hotspot_map_is_a_png_of_the_classes(tmp_path: Path) -> None:
    """Three squares 100 m apart near Kunming: hot, not significant, cold."""
    size = 0.001
    grids = gpd.GeoDataFrame(
        {
            "class": ["hot_99", "not_significant", "cold_95"],
            "street_code": ["s1", "s1", "s2"],
        },
        geometry=[
            box(102.85 + i * size, 24.98, 102.85 + (i + 1) * size, 24.98 + size) for i in range(3)
        ],
        crs=4326,
    )
    image = render_hotspot_map(grids, width=600)
    assert image is not None
    picture = Image.open(io.BytesIO(image.png)).convert("RGB")
    assert picture.size == (image.width, image.height) and image.width == 600
    colours = {f"#{r:02x}{g:02x}{b:02x}" for _, (r, g, b) in picture.getcolors(1 << 20) or []}
    for name in ("hot_99", "not_significant", "cold_95"):
        assert CLASS_COLOURS[name] in colours, name
    assert CLASS_COLOURS["hot_95"] not in colours
    assert render_hotspot_map(grids.iloc[0:0]) is None
