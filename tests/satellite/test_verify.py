"""Patches in a real PostGIS: import as cases, handling, verification with known verdicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.catalogue import Deadline
from geogrid.errors import NotFound, ValidationFailed
from geogrid.satellite import (
    VerifyRules,
    batch_figures,
    get_patch,
    list_patches,
    render_chips,
    verify_batch,
)
from geogrid.worktime import WorkCalendar
from tests.satellite.data import NET, SOIL
from tests.satellite.scenario import (
    BATCH,
    DISPATCHED,
    EXPECTED,
    NOW,
    build,
    import_scenario_batch,
)

B11, B12 = "530114002001001", "530114002001002"


def test_patches_become_located_cases(territory_engine: Engine, tmp_path: Path) -> None:
    with territory_engine.begin() as conn:
        batch = import_scenario_batch(conn, tmp_path)
    assert batch["figures"]["patches"] == 9 and batch["vendor"] == "测绘院"
    with territory_engine.connect() as conn:
        patches = {
            r.patch_code: r
            for r in conn.execute(sa.text("SELECT * FROM patches ORDER BY patch_code"))
        }
        cases = {
            r.case_id: r
            for r in conn.execute(sa.text("SELECT * FROM cases WHERE source = 'satellite'"))
        }
    assert len(cases) == 9
    tb9 = patches["TB9"]
    assert tb9.grid_codes == [B11, B12] and tb9.grid_code == B11
    assert tb9.community_code == "530114002001" and tb9.street_code == "530114002"
    assert tb9.area_m2 == pytest.approx(400, rel=1e-3)
    case = cases["SAT-2026-06-TB9"]
    assert case.grid_code == B11 and case.sub_class == "06001"
    assert case.department == "区城市管理综合行政执法局"
    assert case.registered_at == DISPATCHED and case.dispatched_at == DISPATCHED
    dust = cases["SAT-2026-06-TB1"]
    assert dust.sub_class == "08004" and dust.department == "区住房和城乡建设局"
    expected_due = WorkCalendar.load().add(DISPATCHED, Deadline(5, "working_days"))
    assert dust.due_at == expected_due == patches["TB1"].due_at
    assert "地面扬尘源" in dust.description

    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        import_scenario_batch(conn, tmp_path)
    assert caught.value.problems[0].rule == "batch_exists"


def test_verdicts_and_their_figures(territory_engine: Engine, tmp_path: Path) -> None:
    ids = build(territory_engine, tmp_path)
    with territory_engine.begin() as conn:
        result = verify_batch(conn, BATCH, now=NOW)
    assert result["patches"] == 9
    with territory_engine.connect() as conn:
        verdicts = dict(
            conn.execute(
                sa.text(
                    "SELECT p.patch_code, v.verdict FROM patch_verifications v "
                    "JOIN patches p ON p.id = v.patch_id"
                )
            ).all()
        )
        assert verdicts == EXPECTED
        tb1 = get_patch(conn, ids["TB1"], now=NOW)
        tb7 = get_patch(conn, ids["TB7"], now=NOW)
        tb6 = get_patch(conn, ids["TB6"], now=NOW)
        tb8 = get_patch(conn, ids["TB8"], now=NOW)

    figures = tb1["verification"]["figures"]
    image = figures["image"]
    assert image["before"]["valid_share"] == 1 and image["before"]["pixels"] == 400
    assert image["before"]["means"] == pytest.approx(
        {"red": 0.3, "green": 0.25, "blue": 0.2, "nir": 0.35}
    )

    def proxy(r: int, g: int, b: int, n: int) -> float:
        return ((r + b) - (g + n)) / ((r + b) + (g + n))

    assert image["bare_soil_drop"] == pytest.approx(proxy(*SOIL) - proxy(*NET), abs=1e-6)
    assert image["state"] == "reversed"
    assert figures["field"]["photos_near"] == 1 and figures["field"]["evidence"]
    assert figures["handling"]["state"] == "on_site"
    assert tb1["handling"][0]["photos"][0]["distance_m"] == 0
    assert tb1["handling"][0]["photos"][0]["exif"]["Make"] == "TestPhone"

    field = tb7["verification"]["figures"]["field"]
    assert field["fixes_near"] == 1 and field["supervisors"] == ["S01"]
    assert field["photos_near"] == 0
    assert tb7["verification"]["figures"]["image"]["after"]["valid_share"] == 0
    # TB6's photo lies inside it but was taken before dispatch; TB8's fixes are flagged or early
    assert tb6["verification"]["figures"]["field"]["photos_located"] == 1
    assert tb6["verification"]["figures"]["field"]["photos_near"] == 0
    assert tb8["verification"]["figures"]["field"]["fixes_near"] == 0
    window_end = tb8["verification"]["figures"]["window"]["to"]
    assert datetime.fromisoformat(window_end) == NOW


def test_thresholds_change_the_verdicts(territory_engine: Engine, tmp_path: Path) -> None:
    build(territory_engine, tmp_path)
    strict = VerifyRules.from_dict(
        {"distance_m": 5, "thresholds": {"dust_source": {"bare_soil_drop": 0.5, "ndvi_rise": 0.5}}}
    )
    with territory_engine.begin() as conn:
        counts = verify_batch(conn, BATCH, rules=strict, now=NOW)["verdicts"]
    # TB1 no longer covered by image: not_verified; TB7's fix (7 m away) no longer counts
    assert counts == {
        "not_verified": 4,
        "verified": 1,
        "field_verified": 1,
        "documents_only": 1,
        "inconclusive": 2,
    }


def test_batch_figures_and_lists(territory_engine: Engine, tmp_path: Path) -> None:
    build(territory_engine, tmp_path)
    with territory_engine.begin() as conn:
        verify_batch(conn, BATCH, now=NOW)
        figures = batch_figures(conn, now=NOW)[BATCH]
        street = batch_figures(conn, street_code="530114002", now=NOW)[BATCH]
        documents, total = list_patches(conn, status="documents", now=NOW)
        overdue, _ = list_patches(conn, batch_id=BATCH, status="overdue", now=NOW)
        verified, _ = list_patches(conn, status="verified", change_type="dust_source", now=NOW)
    assert figures["handling"] == {"pending": 3, "on_site": 3, "documents": 3}
    assert figures["verdicts"]["verified"] == 2 and figures["verdicts"]["unchecked"] == 0
    assert figures["closed"] == 6 and figures["due"] == 9 and figures["overdue"] == 3
    assert figures["dust_area_covered_m2"] == pytest.approx(1600, rel=1e-3)
    assert street["patches"] == 5  # row 0 lies in street 002
    assert total == 3 and {p["patch_code"] for p in documents} == {"TB2", "TB4", "TB6"}
    assert {p["patch_code"] for p in overdue} == {"TB7", "TB8", "TB9"}
    assert [p["patch_code"] for p in verified] == ["TB1"]
    assert verified[0]["verdict_label"] == "核实已整改"


def test_chips(territory_engine: Engine, tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    ids = build(territory_engine, tmp_path)
    with territory_engine.connect() as conn:
        png = render_chips(conn, ids["TB1"])
        with pytest.raises(NotFound):
            render_chips(conn, 999_999)
    picture = Image.open(BytesIO(png))
    assert picture.format == "PNG" and picture.size == (256 * 2 + 6, 256)
    # the centre of the after chip shows the green net: green brighter than red
    r, g, _ = picture.getpixel((256 + 6 + 128, 128))
    assert g > r
