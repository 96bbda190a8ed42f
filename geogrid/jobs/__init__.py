"""Background jobs: long work runs in its own transaction; progress and outcome are stored.

A job is created by the request that asks for the work (``create_job``) and carried out by
``run_job`` on a worker thread of the same process, which records the stage and progress as it
goes, then the result or the error (one sentence and its problems, as the API reports errors).
A job that was running when its process stopped is marked failed on the next start.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geogrid.errors import GeogridError, NotFound

log = logging.getLogger("geogrid.jobs")

Progress = Callable[[str, float], None]
Work = Callable[[Connection, Progress], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """A job's state as stored."""

    id: str
    kind: str
    status: str
    stage: str
    progress: float
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.__dict__)
        for key in ("created_at", "started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def create_job(conn: Connection, *, kind: str, created_by: str) -> str:
    """Record a queued job and return its id."""
    job_id = uuid.uuid4().hex
    conn.execute(
        sa.text("INSERT INTO jobs (id, kind, created_by) VALUES (:id, :kind, :who)"),
        {"id": job_id, "kind": kind, "who": created_by},
    )
    return job_id


def get_job(conn: Connection, job_id: str) -> Job:
    """The job ``job_id``; :class:`NotFound` when there is none."""
    row = conn.execute(
        sa.text(
            "SELECT id, kind, status, stage, progress, created_by, created_at, started_at, "
            "finished_at, result, error FROM jobs WHERE id = :id"
        ),
        {"id": job_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no job '{job_id}'.")
    return Job(**row._mapping)


def _set(engine: Engine, job_id: str, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE jobs SET {sql} WHERE id = :id"), {"id": job_id, **params})


def error_of(exc: BaseException) -> dict[str, Any]:
    """The stored form of a job's failure: one sentence and the problems, never a traceback."""
    if isinstance(exc, GeogridError):
        return {
            "code": type(exc).__name__,
            "message": exc.message,
            "details": [p.as_dict() for p in exc.problems],
        }
    return {
        "code": "internal_error",
        "message": "The job failed on an unexpected error; it has been logged.",
        "details": [],
    }


def run_job(engine: Engine, job_id: str, work: Work) -> None:
    """Carry out ``work`` in one transaction, recording progress, then the result or error."""
    _set(engine, job_id, "status = 'running', started_at = now()")

    def progress(stage: str, fraction: float) -> None:
        _set(
            engine,
            job_id,
            "stage = :s, progress = :f",
            s=stage,
            f=min(1.0, max(0.0, float(fraction))),
        )

    try:
        with engine.begin() as conn:
            result = work(conn, progress)
    except Exception as exc:  # every failure is recorded on the job, as one sentence
        if not isinstance(exc, GeogridError):
            log.exception("job %s failed", job_id)
        _set(
            engine,
            job_id,
            "status = 'failed', finished_at = now(), error = CAST(:e AS jsonb)",
            e=json.dumps(error_of(exc), ensure_ascii=False),
        )
        return
    _set(
        engine,
        job_id,
        "status = 'succeeded', progress = 1, finished_at = now(), result = CAST(:r AS jsonb)",
        r=json.dumps(result, ensure_ascii=False, default=str),
    )


def fail_interrupted(conn: Connection) -> int:
    """Mark jobs left queued or running by a stopped process as failed; return how many."""
    res = conn.execute(
        sa.text(
            "UPDATE jobs SET status = 'failed', finished_at = now(), error = CAST(:e AS jsonb) "
            "WHERE status IN ('queued', 'running')"
        ),
        {
            "e": json.dumps(
                {
                    "code": "interrupted",
                    "details": [],
                    "message": "The server stopped while this job ran; start it again.",
                }
            )
        },
    )
    return int(res.rowcount or 0)
