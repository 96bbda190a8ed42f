"""Long work as background jobs: 202 with a link, progress, the outcome or the error."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from geogrid.jobs import create_job, fail_interrupted, get_job
from tests.api.test_grid_updates import SPLIT_A11, feature, snapshot, square


def wait(client: TestClient, url: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        job = client.get(url).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {url} did not finish")


def post_async(client: TestClient, features: list[dict[str, Any]]) -> Any:
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return client.post("/grid-updates?async=true", files={"file": ("g.geojson", body)})


def test_plan_and_apply_as_jobs(client: TestClient) -> None:
    res = post_async(client, SPLIT_A11)
    assert res.status_code == 202
    job = wait(client, res.json()["links"]["status"])
    assert job["status"] == "succeeded" and job["progress"] == 1
    plan_id = job["result"]["plan"]
    plan = client.get(job["result"]["links"]["plan"]).json()
    assert plan["id"] == plan_id and plan["status"] == "pending"
    applied = client.post(f"/grid-updates/{plan_id}/apply?async=true")
    assert applied.status_code == 202
    job = wait(client, applied.json()["links"]["status"])
    assert job["result"]["status"] == "applied"
    assert client.get(f"/grid-updates/{plan_id}").json()["status"] == "applied"


def test_a_failing_job_reports_the_problems_and_writes_nothing(
    client: TestClient, territory_engine: Engine
) -> None:
    before = snapshot(territory_engine)
    overlapping = [
        feature("530114001001001", square(0, 100, 120, 100)),
        feature("530114001001002", square(100, 100)),
    ]
    job = wait(client, post_async(client, overlapping).json()["links"]["status"])
    assert job["status"] == "failed"
    assert "nothing was stored" in job["error"]["message"]
    assert "overlap" in {d["rule"] for d in job["error"]["details"]}
    assert snapshot(territory_engine) == before


def test_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/jobs/nope").status_code == 404


def test_jobs_left_running_by_a_stopped_server_are_failed(engine: Engine) -> None:
    with engine.begin() as conn:
        job_id = create_job(conn, kind="grid-plan", created_by="test")
        conn.execute(sa.text("UPDATE jobs SET status = 'running' WHERE id = :id"), {"id": job_id})
        assert fail_interrupted(conn) == 1
        job = get_job(conn, job_id)
    assert job.status == "failed" and job.error is not None
    assert "start it again" in job.error["message"]
