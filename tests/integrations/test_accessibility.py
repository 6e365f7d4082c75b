"""axe-core (npm, pinned in package.json) finds no serious or critical violation on the main
pages, at 1280×800 and 375×812, and no page scrolls sideways.

axe-core is installed by ``npm ci`` (``make install`` and ``.ci/run``); without it these tests
fail, they never skip. ``make screenshots`` photographs the same pages
(``tests/integrations/screenshots.py``).
"""

import io
import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from engagement import services as engagement_services
from integrations.salesforce.mapping import mappings_for
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_campaign, make_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
BLOCKING = ("serious", "critical")


def axe_path():
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE.relative_to(ROOT)}): run `make install` or `npm ci` in {ROOT}.",
            pytrace=False,
        )
    return AXE


def axe_expected_version():
    return json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]


def axe_blocking_violations(page):
    """Serious and critical violations on the page as loaded, one line each."""
    assert page.evaluate("typeof axe === 'object' && axe.version") == axe_expected_version()
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
        }))"""
    )
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in violations if v["impact"] in BLOCKING]


def page_scroll_problem(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:
        return f"page scrolls sideways ({width}px wide)"
    return None


def _logo_png():
    buf = io.BytesIO()
    Image.new("RGB", (240, 80), (10, 125, 59)).save(buf, "PNG")
    return ContentFile(buf.getvalue())


@pytest.fixture
def main_pages(connected_portal_a, live_server):
    """The main pages of a connected portal with contacts, a sent campaign and engagement:
    ``[(name, path)]``."""
    portal = connected_portal_a
    portal.logo.save("logo.png", _logo_png(), save=False)
    portal.accent_color = "#0a7d3b"
    portal.save()
    ann = make_contact(portal, email="ann@example.org", first_name="Ann", last_name="Lee")
    make_contact(portal, email="gone@example.org", first_name="Gus", unsubscribed_at=timezone.now())
    campaign = make_campaign(
        portal, name="Spring thanks", video_url=f"{live_server.url}/static/video/thankyou.webm"
    )
    send = make_send(portal, campaign=campaign, contact=ann)
    for type_ in ["opened", "clicked", "started_watching"]:
        engagement_services.event_record(send=send, type=type_)
    mapping = mappings_for(portal)[0]
    slug = portal.slug
    return [
        ("contacts", f"/{slug}/contacts/"),
        ("contact-edit", f"/{slug}/contacts/{ann.pk}/edit/"),
        ("campaigns", f"/{slug}/campaigns/"),
        ("campaign-detail", f"/{slug}/campaigns/{campaign.pk}/"),
        ("campaign-send", f"/{slug}/campaigns/{campaign.pk}/send/"),
        ("integrations", f"/{slug}/integrations/salesforce/"),
        ("mapping-add", f"/{slug}/integrations/salesforce/mappings/add/"),
        ("mapping-edit", f"/{slug}/integrations/salesforce/mappings/{mapping.pk}/edit/"),
        ("sync-health", f"/{slug}/integrations/salesforce/sync/"),
        ("api-keys", f"/{slug}/api-keys/"),
        ("branding", f"/{slug}/settings/"),
        ("landing", f"/v/{send.token}/"),
    ]


@pytest.fixture
def axe_page(page):
    # An init script (not a <script> tag), so a Content-Security-Policy cannot block it.
    page.context.add_init_script(path=str(axe_path()))
    return page


def test_main_pages_have_no_serious_axe_violations_and_no_sideways_scroll(
    axe_page, login, live_server, sf_settings, admin_a, main_pages
):
    page = login(admin_a)
    page.set_viewport_size(VIEWPORTS["desktop"])
    problems = []
    for name, path in main_pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {path} answered {response.status}"
        scroll = page_scroll_problem(page)
        problems += [f"{name}: {scroll}"] if scroll else []
        problems += [f"{name}: {v}" for v in axe_blocking_violations(page)]
    assert problems == [], "\n".join(problems)


def test_the_share_and_confirmation_steps_pass_axe(axe_page, login, live_server, sf_settings, admin_a, main_pages):
    """The pages a click away: the send confirmation and the landing page's share panel."""
    page = login(admin_a)
    page.goto(f"{live_server.url}{dict(main_pages)['campaign-send']}")
    page.get_by_role("button", name="Review and send").click()
    page.get_by_role("button", name="Send to 1 contact").wait_for()
    assert axe_blocking_violations(page) == []
    page.goto(f"{live_server.url}{dict(main_pages)['landing']}")
    page.get_by_role("button", name="Share").click()
    page.get_by_role("button", name="Copy link").wait_for()
    assert axe_blocking_violations(page) == []
