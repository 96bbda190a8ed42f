"""The patrol coverage map page (巡查覆盖图)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Patrol"])
