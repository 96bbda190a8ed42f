"""Starting background jobs from requests, and reading them back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request

from api.auth import actor_of, note_change
from api.deps import ConnDep
from geogrid.jobs import Work, create_job, get_job, run_job

router = APIRouter(tags=["Jobs"])


def submit(
    request: Request, *, kind: str, work: Work, created_by: str | None = None
) -> dict[str, Any]:
    """Queue ``work`` on the app's worker threads; return the 202 body with the job's link.

    The job is recorded as started by ``created_by``, else by the request's principal."""
    created_by = actor_of(request, created_by)
    engine = request.app.state.job_engine
    with engine.begin() as conn:  # committed before a worker can look for it
        job_id = create_job(conn, kind=kind, created_by=created_by)
    executor: ThreadPoolExecutor = request.app.state.jobs
    executor.submit(run_job, engine, job_id, work)
    url = str(request.base_url).rstrip("/") + f"/jobs/{job_id}"
    note_change(request, status=202, summary={"job": job_id, "kind": kind})
    return {"job": job_id, "status": "queued", "links": {"status": url}}


@router.get("/jobs/{job_id}")
def job(job_id: str, conn: ConnDep) -> dict[str, Any]:
    """A background job: status (queued, running, succeeded, failed), stage, progress, outcome."""
    return get_job(conn, job_id).as_dict()
