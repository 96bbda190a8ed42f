"""The login page in headless Chromium: a real browser logs in, keeps the cookie, sees the map."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.auth import Role, create_user
from tests.browser import count_leaflet_paths, render_page
from tests.territory import GRIDS

_SUBMIT = """<!DOCTYPE html>
<html><body>
<form method="post" action="{url}/login">
<input name="username" value="op"><input name="password" value="op-password">
<input name="next" value="/maps/grids">
</form>
<script>document.forms[0].submit();</script>
</body></html>
"""


@pytest.mark.browser
def test_a_browser_logs_in_and_the_map_loads(
    territory_engine: Engine, private_live_url: str, tmp_path: Path
) -> None:
    with territory_engine.begin() as conn:
        create_user(
            conn,
            username="op",
            role=Role.street_operator,
            password="op-password",
            streets=["530114001"],
        )
    before = render_page(f"{private_live_url}/maps/grids", out_png=None)
    assert "用户名" in before.dom and count_leaflet_paths(before.dom) == 0

    # The login form, filled in and submitted by the browser (as a person would).
    page = tmp_path / "login.html"
    page.write_text(_SUBMIT.format(url=private_live_url))
    after = render_page(page.as_uri(), out_png=None)
    assert count_leaflet_paths(after.dom) >= len(GRIDS)
    assert after.console_errors == []
    assert after.failed_loads == []
    assert f"{private_live_url}/maps/grids" in after.requests
