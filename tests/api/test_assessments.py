"""Assessment runs over HTTP: create and read back, manual inputs (JSON and the XLSX template),
refusals that change nothing, the bulletin in three formats, a run as a background job.

district-detail per street on the October cases of tests/assessment/test_assess.py:
龙城街道 16 (立案率 6, 按期结案率 3, 结案率 0, 返工率 0, 信息采集量 0, 上线率 7), 乌龙街道 32.
"""

from __future__ import annotations

import io
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from tests.assessment.conftest import load_october_cases

S1, S2 = "530114001", "530114002"
LOST = "结案率 80.00% 低于 95%，每低 1% 扣 1 分：扣 7 分（扣完为止）"
TITLE = "呈贡区数字城管工作月度通报（2026年10月）"


@pytest.fixture
def api(client: TestClient, territory_engine: Engine, tmp_path: Path) -> TestClient:
    load_october_cases(territory_engine, tmp_path)
    return client


def _create(api: TestClient, **body: Any) -> dict[str, Any]:
    sent = {"rules": "district-detail", "month": "2026-10", "level": "street"} | body
    res = api.post("/assessments", json=sent)
    assert res.status_code == 201, res.text
    return res.json()


def _units(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit"]: u for u in body["units"]}


def _item(body: dict[str, Any], unit: str, key: str) -> dict[str, Any]:
    return next(i for i in _units(body)[unit]["items"] if i["key"] == key)


def test_a_run_is_created_and_read_back(api: TestClient) -> None:
    created = _create(api, created_by="张三")
    run_id = created["id"]
    assert created["links"]["bulletin_docx"].endswith(f"/assessments/{run_id}/bulletin?format=docx")
    body = api.get(f"/assessments/{run_id}").json()
    assert body["rule_set"]["name"] == "district-detail" and body["status"] == "pending"
    assert [(u["unit"], u["total"], u["rank"]) for u in body["units"]] == [(S2, 32, 1), (S1, 16, 2)]
    points = {i["key"]: i["points"] for i in _units(body)[S1]["items"] if i["points"] is not None}
    assert points == {
        "registration": 6,
        "on_time": 3,
        "closure": 0,
        "rework": 0,
        "collection": 0,
        "online": 7,
    }
    assert _units(body)[S1]["parts"] == {
        "organisation": 0,
        "effect": 9,
        "internal": 7,
        "social": 0,
    }
    closure = _item(body, S1, "closure")
    assert (closure["inputs"], closure["lost"], closure["reasons"]) == ({"value": 80.0}, 7, [LOST])
    assert len(_units(body)[S1]["pending"]) == 15
    fields = {f["field"]: f for f in body["manual_fields"]}
    assert fields["agency"]["header"] == "机构（4分）" and fields["agency"]["max_points"] == 4
    assert [h["n"] for h in body["history"]] == [1]
    listed = api.get("/assessments", params={"rule_set": "district-detail"}).json()
    assert [r["id"] for r in listed] == [run_id] and listed[0]["created_by"] == "张三"
    assert api.get("/assessments", params={"period": "2026-09"}).json() == []
    scores = api.get(f"/assessments/{run_id}", params={"format": "csv"})
    assert scores.text.splitlines()[1].startswith(f"1,{S2},乌龙街道,0.0,25.0,7.0,0.0,32.0")
    missing = api.get(f"/assessments/{run_id + 1}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_manual_inputs_as_json_rescore(api: TestClient) -> None:
    run_id = _create(api, manual={"龙城街道": {"agency": 2}})["id"]
    res = api.post(
        f"/assessments/{run_id}/inputs",
        params={"entered_by": "李四"},
        json={S1: {"agency": 4, "reporting": 8, "supervised": 2}, "乌龙街道": {"budget": 1}},
    )
    assert res.status_code == 200, res.text
    body = res.json()
    # 龙城街道: 16 + 4 (机构) + 8 (信息上报) + 3 (督办件 5 − 2) = 31
    assert [(u["unit"], u["total"], u["rank"]) for u in body["units"]] == [(S2, 33, 1), (S1, 31, 2)]
    assert _item(body, S1, "supervised")["reasons"] == ["督办件超期 2 件，每件扣 1 分：扣 2 分"]
    assert body["manual_inputs"][S1]["agency"]["value"] == 4
    assert body["manual_inputs"][S1]["agency"]["entered_by"] == "李四"
    assert [(h["n"], h["cause"], h["totals"]) for h in body["history"]] == [
        (1, "created", {S2: 32, S1: 18}),
        (2, "inputs", {S2: 33, S1: 31}),
    ]
    cleared = api.post(f"/assessments/{run_id}/inputs", json={S1: {"reporting": None}}).json()
    assert _units(cleared)[S1]["total"] == 23 and "reporting" not in cleared["manual_inputs"][S1]


@pytest.mark.parametrize(
    ("entries", "where"),
    [
        ({"东城街道": {"agency": 1}}, "unit '东城街道'"),
        ({S1: {"meeting": 1}}, "unit '530114001', item 'meeting'"),
        ({S1: {"agency": 4.5}}, "unit '530114001', item 'agency'"),
        ({S1: {"response": -2}}, "unit '530114001', item 'response'"),
        ({S1: {"hours": "满分"}}, "unit '530114001', item 'hours'"),
    ],
)
def test_bad_inputs_are_refused_and_change_nothing(
    api: TestClient, entries: dict[str, Any], where: str
) -> None:
    run_id = _create(api)["id"]
    before = api.get(f"/assessments/{run_id}").json()
    res = api.post(f"/assessments/{run_id}/inputs", json={**entries, S2: {"agency": 1}})
    assert res.status_code == 422, res.text
    assert [d["where"] for d in res.json()["details"]] == [where]
    assert api.get(f"/assessments/{run_id}").json() == before


def test_other_refusals(api: TestClient) -> None:
    unknown = api.post("/assessments", json={"rules": "kunming", "month": "2026-10"})
    assert unknown.status_code == 404
    bad_yaml = api.post("/assessments", json={"rules": "name: x\nparts: [", "month": "2026-10"})
    assert bad_yaml.status_code == 422
    bad_month = api.post("/assessments", json={"rules": "district-detail", "month": "10/2026"})
    assert bad_month.status_code == 400 and "month" in bad_month.json()["message"]
    run_id = _create(api)["id"]
    not_json = api.post(
        f"/assessments/{run_id}/inputs", content=b"agency=1", headers={"content-type": "text/plain"}
    )
    assert not_json.status_code == 400
    assert api.post(f"/assessments/{run_id}/inputs", json=[1, 2]).status_code == 422


def test_the_template_round_trips_through_the_inputs(api: TestClient, tmp_path: Path) -> None:
    run_id = _create(api, manual={S2: {"equipment": 6}})["id"]
    res = api.get(f"/assessments/{run_id}/template.xlsx")
    assert res.status_code == 200
    book = load_workbook(io.BytesIO(res.content))
    sheet = book["人工录入"]
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["单位编码", "单位名称", "机构（4分）", "经费（2分）", "预案（2分）"]
    assert "人员配置（collectors）（4分）" in headers and len(headers) == 18
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {S1, S2} and rows[S2][5] == 6  # 设备 filled in
    sheet["C2"], sheet["D2"] = 4, 2  # 龙城街道: 机构 4, 经费 2
    path = tmp_path / "filled.xlsx"
    book.save(path)
    with path.open("rb") as fh:
        up = api.post(
            f"/assessments/{run_id}/inputs",
            params={"entered_by": "王五"},
            files={"file": ("filled.xlsx", fh, "application/octet-stream")},
        )
    assert up.status_code == 200, up.text
    body = up.json()
    assert _units(body)[S1]["parts"]["organisation"] == 6
    assert _units(body)[S2]["parts"]["organisation"] == 6
    assert body["manual_inputs"][S1]["budget"]["entered_by"] == "王五"
    again = load_workbook(io.BytesIO(api.get(f"/assessments/{run_id}/template.xlsx").content))
    assert [c.value for c in again["人工录入"][2]][:4] == [S1, "龙城街道", 4, 2]
    sheet["C2"] = 7  # above 机构's 4 points
    book.save(path)
    with path.open("rb") as fh:
        refused = api.post(f"/assessments/{run_id}/inputs", files={"file": ("f.xlsx", fh)})
    assert refused.status_code == 422
    assert refused.json()["details"][0]["where"] == "unit '530114001', item 'agency'"
    assert api.get(f"/assessments/{run_id}").json()["scorings"] == 2


class _Text(HTMLParser):
    """The text of h1, h2, table cells and images' sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.found: dict[str, list[str]] = {"h1": [], "h2": [], "td": [], "th": [], "p": []}
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
            self.tags.pop()
        if tag in self.found:
            self.found[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if self.tags and self.tags[-1] == tag:
            self.tags.pop()

    def handle_data(self, data: str) -> None:
        for tag in reversed(self.tags):
            if tag in self.found:
                self.found[tag][-1] += data
                return


def test_the_bulletin_in_three_formats(api: TestClient) -> None:
    run_id = _create(api)["id"]
    page = api.get(f"/assessments/{run_id}/bulletin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = _Text()
    text.feed(page.text)
    assert text.found["h1"] == [TITLE]
    assert text.found["h2"][1] == "二、考核得分及排名"
    assert text.found["td"][:3] == ["1", "乌龙街道", S2]
    assert "区城管局" in text.found["td"] and LOST in text.found["td"]
    assert "结案率" in text.found["th"] and "本月无图斑。" in text.found["p"]
    assert len(text.images) == 1 and text.images[0].startswith("data:image/png;base64,")
    assert "http" not in page.text.replace(text.images[0], "")  # no external asset

    book = load_workbook(io.BytesIO(api.get(f"/assessments/{run_id}/bulletin?format=xlsx").content))
    assert book.sheetnames[1] == "二、考核得分及排名" and len(book.sheetnames) == 7
    cells = {
        name: [v for row in book[name].iter_rows(values_only=True) for v in row if v is not None]
        for name in book.sheetnames
    }
    assert TITLE in cells["一、总体情况"]
    ranking = list(book["二、考核得分及排名"].iter_rows(values_only=True))
    assert ranking[5][:3] == (1, "乌龙街道", S2) and ranking[6][:3] == (2, "龙城街道", S1)
    assert "区城管局" in cells["三、案件办理情况"] and "按期结案数" in cells["三、案件办理情况"]
    assert LOST in cells["七、主要失分原因"]
    assert len(book["四、问题来源及高发问题"]._images) == 1

    res = api.get(f"/assessments/{run_id}/bulletin", params={"format": "docx"})
    assert res.status_code == 200 and res.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    document = docx.Document(io.BytesIO(res.content))
    paragraphs = [p.text for p in document.paragraphs]
    assert TITLE in paragraphs and "七、主要失分原因" in paragraphs
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    ranking_rows = next(t for t in tables if t[0][0] == "排名" and t[0][1] == "单位名称")
    assert ranking_rows[1][:3] == ["1", "乌龙街道", S2]
    departments = next(t for t in tables if t[0][0] == "处置部门" and t[1][0] == "区城管局")
    assert departments[0][1] == "立案数" and departments[1][1] == "6"
    assert any(LOST in row for t in tables for row in t)
    assert len(document.inline_shapes) == 1
    assert api.get(f"/assessments/{run_id + 1}/bulletin").status_code == 404


def test_an_assessment_as_a_background_job(api: TestClient) -> None:
    res = api.post(
        "/assessments",
        params={"async": "true"},
        json={"rules": "district-detail", "month": "2026-10", "level": "street"},
    )
    assert res.status_code == 202, res.text
    job_url = res.json()["links"]["status"]
    deadline = time.time() + 60
    while (job := api.get(job_url).json())["status"] not in ("succeeded", "failed"):
        assert time.time() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    run_id = job["result"]["assessment"]
    assert job["result"]["status"] == "pending"
    body = api.get(f"/assessments/{run_id}").json()
    assert [(u["unit"], u["total"]) for u in body["units"]] == [(S2, 32), (S1, 16)]
    failed = api.post(
        "/assessments",
        params={"async": "true"},
        json={"rules": "district-detail", "month": "2026-10", "units": ["东城街道"]},
    )
    job_url = failed.json()["links"]["status"]
    while (job := api.get(job_url).json())["status"] not in ("succeeded", "failed"):
        time.sleep(0.1)
    assert job["status"] == "failed" and job["error"]["details"][0]["where"] == "unit '东城街道'"
