"""The catalogue routes over the real app (and its real PostGIS)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.settings import Settings
from tests.credentials import ADMIN


def test_components(client: TestClient) -> None:
    res = client.get("/catalogue/components")
    assert res.status_code == 200
    body = res.json()
    assert (body["kind"], body["count"], len(body["items"])) == ("component", 153, 153)
    assert body["majors"]["01"] == "市政公用设施"
    first = body["items"][0]
    assert first == {
        "code": "01001",
        "name": "供水井盖",
        "major": "01",
        "major_name": "市政公用设施",
        "geometry": "point",
        "department": "区水务局",
        "deadline_normal": {"amount": 1.0, "unit": "working_days"},
        "deadline_urgent": {"amount": 2.0, "unit": "hours"},
    }


def test_events_filtered(client: TestClient) -> None:
    body = client.get("/catalogue/events").json()
    assert (body["kind"], body["count"]) == ("event", 250)
    assert len(body["majors"]) == 10
    body = client.get("/catalogue/events", params={"major": "06"}).json()
    assert body["count"] == 51
    assert {i["major"] for i in body["items"]} == {"06"}
    body = client.get("/catalogue/events", params={"major": "06", "q": "垃圾"}).json()
    assert [i["code"] for i in body["items"]] == [
        "06010", "06011", "06020", "06032", "06041", "06042",
    ]  # fmt: skip
    body = client.get("/catalogue/components", params={"q": "井盖"}).json()
    assert body["count"] == 20
    assert client.get("/catalogue/events", params={"major": "99"}).json()["count"] == 0


def test_bad_major_is_a_400(client: TestClient) -> None:
    res = client.get("/catalogue/events", params={"major": "6"})
    assert res.status_code == 400
    assert res.json()["code"] == "invalid_parameter"


def test_one_item(client: TestClient) -> None:
    res = client.get("/catalogue/events/06012")
    assert res.status_code == 200
    body = res.json()
    assert (body["kind"], body["name"]) == ("event", "道路不洁")
    assert body["deadline_normal"] == {"amount": 5.0, "unit": "working_hours"}
    assert body["geometry"] is None
    component = client.get("/catalogue/components/02017").json()
    assert (component["kind"], component["geometry"]) == ("component", "line")


def test_unknown_item_is_a_404_with_a_sentence(client: TestClient) -> None:
    res = client.get("/catalogue/events/06031")
    assert res.status_code == 404
    assert res.json()["message"] == "The catalogue has no event type with code '06031'."


def test_unknown_kind_is_a_400(client: TestClient) -> None:
    res = client.get("/catalogue/things/06010")
    assert res.status_code == 400
    assert "components, events" in res.json()["message"]


def test_the_districts_extension_is_served(territory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "district.csv"
    path.write_text(
        "kind,code,name,major_name,department,normal_amount,normal_unit,urgent_amount,urgent_unit\n"
        "event,06010,,,五华区环卫站,,,,\n"
        "event,11001,违规燃放烟花爆竹,区级专项类,区公安分局,2,hours,1,hours\n",
        encoding="utf-8",
    )
    settings = Settings(
        database_url=territory_engine.url.render_as_string(hide_password=False),
        catalogue_file=path,
    )
    with TestClient(create_app(settings), headers=ADMIN) as client:
        assert client.get("/catalogue/events/06010").json()["department"] == "五华区环卫站"
        body = client.get("/catalogue/events", params={"major": "11"}).json()
        assert body["count"] == 1
        assert body["majors"]["11"] == "区级专项类"


def test_a_broken_extension_is_reported(territory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "district.csv"
    path.write_text("kind,code,geometry\nevent,06010,point\n", encoding="utf-8")
    settings = Settings(
        database_url=territory_engine.url.render_as_string(hide_password=False),
        catalogue_file=path,
    )
    with TestClient(create_app(settings), headers=ADMIN) as client:
        res = client.get("/catalogue/events")
    assert res.status_code == 422
    assert res.json()["details"][0]["where"] == "row 2"
