"""The named cast every test can use, plus the browser and simulator fixtures.

- ``portal_a`` with ``admin_a`` (role admin) and ``staff_a`` (role staff);
- ``portal_b`` with ``member_b``, who belongs to portal B only;
- ``client_admin_a`` / ``client_staff_a`` / ``client_b``: logged-in Django test clients.
"""

import os

import pytest

from tests.factories import PASSWORD, MembershipFactory, PortalFactory, UserFactory
from thankview.models import Membership

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def portal_a(db):
    return PortalFactory(name="Alpha University", slug="alpha")


@pytest.fixture
def portal_b(db):
    return PortalFactory(name="Beta Hospital", slug="beta")


@pytest.fixture
def admin_a(portal_a):
    return MembershipFactory(
        portal=portal_a, role=Membership.Role.ADMIN, user=UserFactory(email="ada@alpha.example")
    ).user


@pytest.fixture
def staff_a(portal_a):
    return MembershipFactory(
        portal=portal_a, role=Membership.Role.STAFF, user=UserFactory(email="sam@alpha.example")
    ).user


@pytest.fixture
def member_b(portal_b):
    return MembershipFactory(
        portal=portal_b, role=Membership.Role.ADMIN, user=UserFactory(email="bea@beta.example")
    ).user


def _client_for(client_class, user):
    c = client_class()
    c.force_login(user)
    return c


@pytest.fixture
def client_admin_a(admin_a):
    from django.test import Client

    return _client_for(Client, admin_a)


@pytest.fixture
def client_staff_a(staff_a):
    from django.test import Client

    return _client_for(Client, staff_a)


@pytest.fixture
def client_b(member_b):
    from django.test import Client

    return _client_for(Client, member_b)


@pytest.fixture
def eager_retries(monkeypatch):
    """Eager tasks retry in place, as a worker would, until they give up (the suite's default,
    CELERY_TASK_EAGER_PROPAGATES, raises celery's Retry out of ``delay`` instead)."""
    from thankview.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


@pytest.fixture
def password():
    return PASSWORD


# --- Browser (Playwright driving Debian's Chromium; browser downloads are impossible here)


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def page(browser):
    # The simulator's certificate is self-signed; only browser tests accept it.
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page, live_server):
    """Sign a user in through the real login form; returns the page."""

    def _login(user, password=PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return _login
