"""Every map page loads its assets from the app itself, never from outside (no CDN)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from maps.assets import find_external_urls
from maps.coverage import build_coverage_map
from maps.grid_updates import build_diff_map
from maps.grids import build_grids_map
from maps.patches import build_patches_map
from tests.maps import sample_district
from tests.maps.test_coverage_map import sample_data as sample_coverage
from tests.maps.test_grid_updates_map import sample_plan
from tests.maps.test_patches_map import sample_data as sample_patches


def grids_page(**kwargs: Any) -> str:
    grids, streets, communities = sample_district()
    return build_grids_map(grids, streets, communities, **kwargs).get_root().render()


def diff_page(**kwargs: Any) -> str:
    return build_diff_map(sample_plan(), **kwargs).get_root().render()


def coverage_page(**kwargs: Any) -> str:
    return build_coverage_map(sample_coverage(), **kwargs).get_root().render()


def patches_page(**kwargs: Any) -> str:
    return build_patches_map(sample_patches(), **kwargs).get_root().render()


PAGES = pytest.mark.parametrize(
    "page",
    [grids_page, diff_page, coverage_page, patches_page],
    ids=["grids", "grid-updates", "coverage", "patches"],
)


@PAGES
def test_page_loads_nothing_from_outside(page: Callable[..., str]) -> None:
    html = page(title="呈贡区")
    assert find_external_urls(html) == []
    for path in ("leaflet/leaflet.js", "leaflet/leaflet.css", "fontawesome-free/css/all.min.css"):
        assert f'"/static/vendor/{path}"' in html


@PAGES
def test_asset_base_prefixes_every_asset(page: Callable[..., str]) -> None:
    assets = re.findall(r'(?:src|href)="([^"]+)"', page(asset_base="/geogrid/static/"))
    assert assets
    assert all(url.startswith("/geogrid/static/vendor/") for url in assets), assets
