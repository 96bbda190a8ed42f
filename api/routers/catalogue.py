"""The classification catalogue of components and events (GB/T 47678.5-2026, DOMAIN.md §2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CatalogueDep
from geogrid.catalogue import Catalogue, CatalogueItem, Kind
from geogrid.errors import InvalidParameter

router = APIRouter(prefix="/catalogue", tags=["catalogue"])

KIND_OF_PATH: dict[str, Kind] = {"components": "component", "events": "event"}
MajorParam = Annotated[
    str | None, Query(pattern=r"^\d{2}$", description="Only this 2-digit major class.")
]
SearchParam = Annotated[str | None, Query(description="Only names containing this text.")]


def _item(item: CatalogueItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "major": item.major,
        "major_name": item.major_name,
        "geometry": item.geometry,
        "department": item.department,
        "deadline_normal": {
            "amount": item.deadline_normal.amount,
            "unit": item.deadline_normal.unit,
        },
        "deadline_urgent": {
            "amount": item.deadline_urgent.amount,
            "unit": item.deadline_urgent.unit,
        },
    }


def _listing(catalogue: Catalogue, kind: Kind, major: str | None, q: str | None) -> dict[str, Any]:
    items = [i for i in catalogue.items(kind, major) if not q or q.strip() in i.name]
    return {
        "kind": kind,
        "count": len(items),
        "majors": catalogue.majors(kind),
        "items": [_item(i) for i in items],
    }


def _kind(path_kind: str) -> Kind:
    if path_kind not in KIND_OF_PATH:
        raise InvalidParameter(f"Kind '{path_kind}' is not one of components, events.")
    return KIND_OF_PATH[path_kind]


@router.get("/components")
def components(
    catalogue: CatalogueDep, major: MajorParam = None, q: SearchParam = None
) -> dict[str, Any]:
    """Component types (管理部件) with geometry, department and deadlines."""
    return _listing(catalogue, "component", major, q)


@router.get("/events")
def events(
    catalogue: CatalogueDep, major: MajorParam = None, q: SearchParam = None
) -> dict[str, Any]:
    """Event types (管理事项) with department and deadlines."""
    return _listing(catalogue, "event", major, q)


@router.get("/{kind}/{code}")
def item(kind: str, code: str, catalogue: CatalogueDep) -> dict[str, Any]:
    """One component or event type by its 5-digit code."""
    found = catalogue.get(_kind(kind), code)
    return {"kind": found.kind, **_item(found)}
