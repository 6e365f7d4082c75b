"""`make screenshots`: each main page at 1280×800 and 375×812, saved as PNG into
$SCREENSHOTS_DIR (screenshots/, git-ignored). Not part of the suite (the file name does not
start with test_); the pages and their data are the accessibility test's."""

import os
from pathlib import Path

import pytest

from tests.integrations.test_accessibility import VIEWPORTS, main_pages  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_screenshots(page, login, live_server, sf_settings, admin_a, main_pages, viewport):  # noqa: F811
    out = Path(os.environ.get("SCREENSHOTS_DIR", "screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    page = login(admin_a)
    page.set_viewport_size(viewport)
    size = f"{viewport['width']}x{viewport['height']}"
    for name, path in main_pages:
        page.goto(f"{live_server.url}{path}")
        page.screenshot(path=str(out / f"{name}-{size}.png"), full_page=True)
    pages = dict(main_pages)
    page.goto(f"{live_server.url}{pages['campaign-send']}")
    page.get_by_role("button", name="Review and send").click()
    page.screenshot(path=str(out / f"campaign-send-confirm-{size}.png"), full_page=True)
    page.goto(f"{live_server.url}{pages['landing']}")
    page.get_by_role("button", name="Share").click()
    page.screenshot(path=str(out / f"landing-share-{size}.png"), full_page=True)
    assert len(list(out.glob(f"*-{size}.png"))) >= len(main_pages) + 2
