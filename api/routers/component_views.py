"""Component statistics and the component map page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Components"])
